"""`make run` starts a server that accepts a sample alert (the README's first command, run as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.spine.conftest import SAMPLE, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_serves_and_accepts_the_sample_alert(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSMEDIC_")}
    env.update(OPSMEDIC_PORT=str(port), OPSMEDIC_DATA_DIR=str(tmp_path / "data"),
               OPSMEDIC_PROVIDER_STATUS_URLS="{}", OPSMEDIC_PROMETHEUS_URL="http://127.0.0.1:9")
    server = subprocess.Popen(["make", "-s", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "make run did not start a server within 60 s"
            time.sleep(0.2)
        replay = subprocess.run(
            [sys.executable, "-m", "agent.cli", "replay", str(SAMPLE), "--url", f"http://127.0.0.1:{port}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert '"effect":"created"' in replay.stdout
        listed = httpx.get(f"http://127.0.0.1:{port}/incidents", timeout=5).json()
        title = "LLMOutputValidationFailures: Output validation failures above 5% for summarizer"
        assert [i["title"] for i in listed] == [title]
    finally:
        os.killpg(server.pid, 15)
        output = server.communicate(timeout=20)[0].decode()
    assert f"POST http://127.0.0.1:{port}/alertmanager" in output
