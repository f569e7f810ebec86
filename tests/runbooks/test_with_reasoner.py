"""The project's runbooks drive the real graph: a real Prometheus loaded with samples, the runbooks in embedded
Chroma, the worker running diagnose and propose. What a responder sees: the right runbook, its signals run, and
its first remediation filled from the root cause."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.audit import AuditLog, Redactor
from agent.context import Clients
from agent.models import ChangeEvent
from agent.replay.prometheus import PrometheusServer
from agent.runner import Worker
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tools.runbooks import RunbookIndex

from .conftest import ROOT

SAMPLE = ROOT / "evals" / "samples" / "alert-firing.json"

pytestmark = pytest.mark.prometheus


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={}, data_dir=tmp_path / "data", port=0)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteStore]:
    s = SqliteStore(settings.sqlite_path, busy_timeout_s=0.2)
    yield s
    s.close()


@pytest.fixture
def instant() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


@pytest.fixture
def prometheus(tmp_path: Path, instant: datetime) -> Iterator[Any]:
    end = instant.timestamp()
    minutes = range(-120, 1)
    labels = {"service": "summarizer", "namespace": "prod"}
    samples = [
        ("llm_requests_total", {**labels, "provider": "openai", "status": "ok", "prompt_version": "v13"},
         [(end + 60 * m, 50.0 * (m + 120)) for m in minutes]),
        ("llm_output_validation_failures_total", {**labels, "prompt_version": "v13", "reason": "invalid_json"},
         [(end + 60 * m, 9.0 * max(0, m + 30)) for m in minutes]),
    ]
    with PrometheusServer(samples, tmp_path / "prom") as server:
        yield server


async def test_a_prompt_fault_picks_the_format_runbook_and_rolls_the_prompt_back(
        settings: Settings, store: SqliteStore, prometheus: Any, index: RunbookIndex, instant: datetime) -> None:
    from prometheus_api_client import PrometheusConnect

    audit = AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()))
    body = json.loads(SAMPLE.read_text())
    body["alerts"][0]["startsAt"] = (instant - timedelta(minutes=4)).isoformat()
    store.record_change(ChangeEvent.model_validate({
        "at": instant - timedelta(minutes=32), "kind": "prompt", "service": "summarizer", "namespace": "prod",
        "name": "summarize", "from": "v12", "to": "v13", "actor": "ci"}))
    incident_id = store.record_notification(AlertmanagerPayload.model_validate(body), instant, instant).incident.id
    clients = Clients(prometheus=PrometheusConnect(prometheus.url), runbooks=index)
    await Worker(settings, store, audit, clients, clock=lambda: instant).run_until_idle()

    records = audit.records(incident_id)
    [diagnosis] = [r for r in records if r.kind == "diagnosis"]
    [proposal] = [r for r in records if r.kind == "proposal"]
    signals = [r for r in records if r.kind == "tool_call" and r.data["tool"] == "runbook_signal"]
    assert diagnosis.data["domain"] == "prompt"
    assert diagnosis.data["runbook"] == "prompt-output-format-broken"
    assert any(s.data["runbook"] == "prompt-output-format-broken" and s.data["status"] == "ok" for s in signals)
    assert proposal.data["action"] == "prompt.rollback"
    assert proposal.data["params"] == {"namespace": "prod", "service": "summarizer", "prompt": "summarize",
                                       "to_version": "v12"}
