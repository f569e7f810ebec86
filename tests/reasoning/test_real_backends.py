"""diagnose and propose against real backends: a real Prometheus loaded with samples, runbooks in an embedded
Chroma with the offline embedding model, the store's change feed, run by the worker through the graph."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.context import Clients
from agent.models import ChangeEvent
from agent.replay.prometheus import PrometheusServer
from agent.runner import Worker
from agent.settings import Settings
from agent.webhook import AlertmanagerPayload
from tools.runbooks import RunbookIndex, embedding_function
from tools.runbooks.chroma import persistent_client

MODEL = Path(__file__).resolve().parents[3] / "shared" / "models" / "all-MiniLM-L6-v2"
RUNBOOKS = Path(__file__).resolve().parent / "runbooks"
SAMPLE = Path(__file__).resolve().parents[2] / "evals" / "samples" / "alert-firing.json"

pytestmark = pytest.mark.prometheus  # skipped without the binary, except in CI (tests/conftest.py)


@pytest.fixture
def instant() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


@pytest.fixture
def prometheus(tmp_path: Path, instant: datetime):  # type: ignore[no-untyped-def]
    end = instant.timestamp()
    minutes = range(-120, 1)
    labels = {"service": "summarizer", "namespace": "prod"}
    samples = [
        ("llm_requests_total", {**labels, "provider": "openai", "status": "ok", "prompt_version": "v13"},
         [(end + 60 * m, 50.0 * (m + 120)) for m in minutes]),
        # failures start 30 minutes before the instant, at 9 a minute on prompt v13
        ("llm_output_validation_failures_total", {**labels, "prompt_version": "v13", "reason": "invalid_json"},
         [(end + 60 * m, 9.0 * max(0, m + 30)) for m in minutes]),
    ]
    with PrometheusServer(samples, tmp_path / "prom") as server:
        yield server


@pytest.fixture
def index(tmp_path: Path) -> RunbookIndex:
    return RunbookIndex(persistent_client(tmp_path / "chroma"), embedding_function(MODEL), RUNBOOKS)


async def test_a_prompt_fault_is_diagnosed_from_real_backends_and_its_rollback_proposed(
    settings: Settings, store, audit, prometheus, index, instant: datetime
) -> None:
    from prometheus_api_client import PrometheusConnect

    body = json.loads(SAMPLE.read_text())
    body["alerts"][0]["startsAt"] = (instant - timedelta(minutes=4)).isoformat()
    store.record_change(ChangeEvent.model_validate({
        "at": instant - timedelta(minutes=32), "kind": "prompt", "service": "summarizer", "namespace": "prod",
        "name": "summarize", "from": "v12", "to": "v13", "actor": "ci"}))
    incident_id = store.record_notification(AlertmanagerPayload.model_validate(body), instant, instant).incident.id
    clients = Clients(prometheus=PrometheusConnect(prometheus.url), runbooks=index)
    await Worker(settings.model_copy(update={"llm": ""}), store, audit, clients,
                 clock=lambda: instant).run_until_idle()

    records = audit.records(incident_id)
    [diagnosis] = [r for r in records if r.kind == "diagnosis"]
    [proposal] = [r for r in records if r.kind == "proposal"]
    signals = [r for r in records if r.kind == "tool_call" and r.data["tool"] == "runbook_signal"]
    assert diagnosis.data["status"] == "diagnosed" and diagnosis.data["domain"] == "prompt"
    assert diagnosis.data["root_cause"]["service"] == "summarizer"
    assert diagnosis.data["runbook"] == "prompt-format"
    assert any(s.data["runbook"] == "prompt-format" and s.data["status"] == "ok" for s in signals)
    assert proposal.data["action"] == "prompt.rollback"
    assert proposal.data["params"] == {"namespace": "prod", "service": "summarizer", "prompt": "summarize",
                                       "to_version": "v12"}
    assert audit.verify().ok
