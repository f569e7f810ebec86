"""A worker killed with SIGKILL in the middle of an incident resumes from its checkpoint after a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from agent.audit import AuditLog
from agent.settings import Settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests.spine.conftest import sample_payload

ROOT = Path(__file__).resolve().parents[2]


class PrometheusStandIn(ThreadingHTTPServer):
    """A real HTTP server speaking Prometheus's query API with empty answers, after `delay` seconds."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.requests = 0
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: PrometheusStandIn

    def _answer(self) -> None:
        self.server.requests += 1
        time.sleep(self.server.delay)
        kind = "matrix" if "query_range" in self.path else "vector"
        body = json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the worker was killed mid-request

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def worker(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSMEDIC_")}
    return subprocess.Popen([sys.executable, "-m", "agent.cli", "--config", str(config), "worker", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def nodes(audit: AuditLog, incident_id: str) -> list[str]:
    return [r.data["node"] for r in audit.records(incident_id) if r.kind == "node"]


def test_a_killed_worker_resumes_without_rerunning_finished_nodes(
    tmp_path: Path, settings: Settings, store: SqliteStore, audit: AuditLog
) -> None:
    slow = PrometheusStandIn(delay=120)
    config = tmp_path / "opsmedic.yaml"
    base = {"data_dir": str(settings.data_dir), "tool_timeout_s": 300, "investigate_budget_s": 300,
            "kubernetes_url": "http://127.0.0.1:9", "provider_status_urls": {}}
    config.write_text(yaml.safe_dump({**base, "prometheus_url": slow.url}))
    now = datetime.now(UTC)
    incident_id = store.record_notification(
        AlertmanagerPayload.model_validate(sample_payload()), now, now).incident.id

    first = worker(config)
    try:
        deadline = time.monotonic() + 60
        while not (nodes(audit, incident_id) == ["intake"] and slow.requests > 0):
            assert first.poll() is None, first.stdout.read().decode() if first.stdout else ""
            assert time.monotonic() < deadline, "the worker never reached investigate"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # in the middle of investigate, with intake checkpointed
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert nodes(audit, incident_id) == ["intake"]
    slow.shutdown()

    fast = PrometheusStandIn(delay=0)
    config.write_text(yaml.safe_dump({**base, "prometheus_url": fast.url}))
    second = worker(config, "--until-idle")
    output, _ = second.communicate(timeout=120)
    fast.shutdown()
    assert second.returncode == 0, output.decode()

    ran = nodes(audit, incident_id)
    assert ran.count("intake") == 1, ran
    assert ran[:2] == ["intake", "investigate"]
    assert ran[-1] == "record"
    assert len(ran) == len(set(ran)), f"a node ran twice: {ran}"
    assert fast.requests > 0
    assert audit.verify().ok
