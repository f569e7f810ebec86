"""diagnose and propose inside the real graph, run by the worker: what lands in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage

from agent.audit import AuditLog
from agent.context import Clients
from agent.models import ChangeEvent
from agent.runner import Worker
from agent.settings import Settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests.reasoning.test_llm import VERDICT, ScriptedChatModel, submit
from tests.reasoning.test_offline import BOOKS

SAMPLE = Path(__file__).resolve().parents[2] / "evals" / "samples" / "alert-firing.json"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def open_incident(store: SqliteStore) -> str:
    payload = AlertmanagerPayload.model_validate(json.loads(SAMPLE.read_text()))
    store.record_change(ChangeEvent.model_validate({
        "at": NOW - timedelta(minutes=40), "kind": "prompt", "service": "summarizer", "namespace": "prod",
        "name": "summarize", "from": "v12", "to": "v13"}))
    return store.record_notification(payload, NOW, NOW).incident.id


def records(audit: AuditLog, incident_id: str, kind: str) -> list[Any]:
    return [r for r in audit.records(incident_id) if r.kind == kind]


async def test_offline_diagnosis_and_proposal_are_audited_by_the_system(settings: Settings, store, audit) -> None:
    incident_id = open_incident(store)
    await Worker(settings, store, audit, Clients(runbooks=BOOKS), clock=lambda: NOW).run_until_idle()
    [diagnosis] = records(audit, incident_id, "diagnosis")
    [proposal] = records(audit, incident_id, "proposal")
    assert diagnosis.actor == "system" and proposal.actor == "system"
    # a prompt change alone, with no symptom seen, leads but is not enough to act on
    assert diagnosis.data["hypotheses"][0]["domain"] == "prompt"
    assert any(ref.startswith("change:") for ref in diagnosis.data["hypotheses"][0]["evidence_for"])
    assert diagnosis.data["status"] == "inconclusive"
    assert proposal.data["action"] == "notify.escalate"
    assert audit.verify().ok


async def test_an_llm_verdict_is_audited_as_the_llm_and_its_action_proposed(settings: Settings, store, audit) -> None:
    incident_id = open_incident(store)
    model = ScriptedChatModel(responses=[submit(VERDICT)])
    await Worker(settings, store, audit, Clients(runbooks=BOOKS, chat_model=model), clock=lambda: NOW).run_until_idle()
    [diagnosis] = records(audit, incident_id, "diagnosis")
    [proposal] = records(audit, incident_id, "proposal")
    assert diagnosis.actor == "llm:fake:scripted" and diagnosis.data["domain"] == "prompt"
    assert proposal.actor == "llm:fake:scripted"
    assert proposal.data["action"] == "prompt.rollback" and proposal.data["params"]["to_version"] == "v12"
    assert proposal.data["target"] == "service:prod/summarizer"


async def test_malformed_llm_output_falls_back_to_the_offline_result_in_the_audit(settings: Settings, store,
                                                                                   audit) -> None:
    incident_id = open_incident(store)
    model = ScriptedChatModel(responses=[AIMessage(content="I think it is the prompt, roll it back!")])
    await Worker(settings, store, audit, Clients(runbooks=BOOKS, chat_model=model), clock=lambda: NOW).run_until_idle()
    [diagnosis] = records(audit, incident_id, "diagnosis")
    [proposal] = records(audit, incident_id, "proposal")
    assert diagnosis.actor == "system" and "Falling back to the offline reasoner" in diagnosis.data["summary"]
    assert proposal.actor == "system" and proposal.data["action"] == "notify.escalate"


async def test_an_llm_proposal_aimed_at_another_namespace_is_refused_for_the_offline_one(
    settings: Settings, store, audit
) -> None:
    """An instruction injected into the evidence made a model propose scaling an unrelated namespace to 0."""
    incident_id = open_incident(store)
    hijacked = {**VERDICT, "root_cause": {"service": "billing", "namespace": "payments"},
                "action": "k8s.scale",
                "params": {"namespace": "payments", "kind": "Deployment", "name": "billing", "replicas": 0}}
    model = ScriptedChatModel(responses=[submit(hijacked)])
    await Worker(settings, store, audit, Clients(runbooks=BOOKS, chat_model=model), clock=lambda: NOW).run_until_idle()
    proposals = records(audit, incident_id, "proposal")
    refused = [p for p in proposals if p.data.get("event") == "refused"]
    assert len(refused) == 1 and refused[0].actor == "llm:fake:scripted"
    assert "namespace 'payments' is not this incident's (prod)" in refused[0].data["reason"]
    final = proposals[-1].data
    assert final["action"] != "k8s.scale" and "payments" not in final["target"]
    decisions = records(audit, incident_id, "decision")
    assert all(d.data.get("target", "").find("payments") == -1 for d in decisions)


async def test_an_llm_proposal_on_the_alerting_service_is_kept(settings: Settings, store, audit) -> None:
    incident_id = open_incident(store)
    restart = {**VERDICT, "action": "k8s.rollout_restart",
               "params": {"namespace": "prod", "kind": "Deployment", "name": "summarizer"}}
    model = ScriptedChatModel(responses=[submit(restart)])
    await Worker(settings, store, audit, Clients(runbooks=BOOKS, chat_model=model), clock=lambda: NOW).run_until_idle()
    [proposal] = records(audit, incident_id, "proposal")
    assert proposal.data["action"] == "k8s.rollout_restart" and proposal.data["target"] == "prod/Deployment/summarizer"
