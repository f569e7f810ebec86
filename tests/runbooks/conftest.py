"""Fixtures for the runbook tests: the offline embedding model, copies of the runbooks, embedded Chroma in a
temporary folder, and a real `chroma run` server on a free port. Nothing here may reach the internet: an
autouse guard refuses connections to anything but the loopback interface."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.runbooks import RunbookIndex, embedding_function
from tools.runbooks.chroma import persistent_client

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"
MODEL_DIR = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="package", autouse=True)
def offline() -> Iterator[None]:
    """Refuse any connection that leaves this machine: the model must come from MODEL_DIR, telemetry stays off."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                local = ipaddress.ip_address(host).is_loopback
            except ValueError:
                local = host == "localhost"
            if not local:
                raise OSError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        yield


@pytest.fixture(scope="package")
def ef(offline: None) -> Any:
    """Chroma's default embedding function, loaded once from the shared offline model folder."""
    assert (MODEL_DIR / "onnx" / "model.onnx").is_file(), f"the offline model is missing under {MODEL_DIR}"
    return embedding_function(MODEL_DIR)


@pytest.fixture(scope="package")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data_dir whose chroma/ folder holds the indexed project runbooks (see `index`)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="package")
def index(ef: Any, data_dir: Path) -> RunbookIndex:
    """The project's runbooks in an embedded Chroma under data_dir, indexed once for every search test."""
    built = RunbookIndex(persistent_client(data_dir / "chroma"), ef, RUNBOOKS)
    built.ensure_indexed()
    return built


@pytest.fixture
def few_runbooks(tmp_path: Path) -> Path:
    """A folder with a copy of four runbooks (one per domain), small enough to re-index quickly."""
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in ("infra-oom-killed", "provider-outage", "model-version-eval-regression", "prompt-token-bloat"):
        shutil.copy(RUNBOOKS / f"{name}.md", folder / f"{name}.md")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`, shipped with the chromadb package) on a free port; its URL."""
    if not CHROMA.is_file():
        pytest.skip(f"the chroma command is not installed next to {sys.executable}")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
