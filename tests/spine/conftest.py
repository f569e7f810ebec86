"""Fixtures for the spine: settings in a temporary folder, the store, and the real HTTP server on a free port."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from agent.audit import AuditLog, Redactor
from agent.audit_seal import open_seal
from agent.server import create_app
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore

SAMPLE = Path(__file__).resolve().parents[2] / "evals" / "samples" / "alert-firing.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Runs an ASGI app under uvicorn in a thread, on 127.0.0.1 and a free port; `options` go to uvicorn."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={}, data_dir=tmp_path / "data", port=0)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteStore]:
    s = SqliteStore(settings.sqlite_path, busy_timeout_s=0.2)
    yield s
    s.close()


@pytest.fixture
def audit(store: SqliteStore, settings: Settings) -> AuditLog:
    return AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()), seal=open_seal(settings))


@pytest.fixture
def server(settings: Settings, store: SqliteStore, audit: AuditLog) -> Iterator[ServerThread]:
    with ServerThread(create_app(settings, store, audit)) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def sample_payload(**changes: Any) -> dict[str, Any]:
    """The sample firing notification, with top-level fields replaced."""
    body = copy.deepcopy(json.loads(SAMPLE.read_text()))
    body.update(changes)
    return body


def resolved(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-11-23T10:20:00Z"
    return body
