"""Approve / Reject buttons: who may click, two-person rules, expiry, stale previews, double clicks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from agent.models import Decision, Incident, Proposal
from agent.slack.notifier import button_token
from agent.slack.timeline import read_timeline
from tests.slack.conftest import ALICE, BOB, CAROL, CHANNEL, MALLORY, ONCALL, Harness, text_of

SCALE = Proposal(action="k8s.scale", target="prod/Deployment/summarizer", reason="queue is backing up",
                 params={"namespace": "prod", "kind": "Deployment", "name": "summarizer", "replicas": 6},
                 preview={"generation": 7, "replicas": 3, "diff": "-  replicas: 3\n+  replicas: 6"})


def decision(*, approvers: list[str] | None = None, need: int = 1, ttl_s: int = 1800) -> Decision:
    return Decision(effect="require_approval", rule="scale-needs-approval", reason="changes need a human",
                    approvers=[ALICE, ONCALL] if approvers is None else approvers, min_approvals=need,
                    approval_ttl_s=ttl_s)


async def waiting(harness: Harness, d: Decision, *, requester: str = "") -> tuple[Incident, str]:
    """An incident whose graph waits in `approve` for `d`, with its Slack message; returns it and the button id."""
    now = datetime.now(UTC)
    incident = harness.store.open_incident(title="Summarizer queue backing up", labels={"service": "summarizer",
                                           "namespace": "prod"}, instant=now, source="slack", requester=requester,
                                           now=now)
    harness.store.claim_job("test", now)  # the staged graph below replaces this first investigation job
    harness.store.finish_job(1, now)
    await harness.stage_decision(incident, SCALE, d)
    harness.store.enqueue(incident.id, "investigate", {}, now)  # continue from the checkpoint: into `approve`
    await harness.run_worker()
    assert harness.store.get_incident(incident.id).status == "awaiting_approval"
    await harness.slack.notifier.sync(incident.id)
    token = button_token(incident.id, read_timeline(harness.audit.records(incident.id)).proposal_seq)
    return incident, token


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def actions_run(harness: Harness, incident_id: str) -> list[dict[str, Any]]:
    return [r.data for r in harness.audit.records(incident_id) if r.kind == "action"]


async def ephemeral_to(harness: Harness, user: str) -> str:
    call = await harness.wait_for(lambda: [c for c in harness.slack_api.calls("chat.postEphemeral")
                                           if c.params["user"] == user], f"an ephemeral message to {user}")
    assert call.params["channel"] == CHANNEL
    return str(call.params["text"])


async def test_the_message_offers_approve_and_reject_with_an_opaque_id(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    message = harness.message(incident.id)
    assert buttons(message) == [token, token]
    assert incident.id not in token and len(token) <= 64
    text = text_of(message)
    assert "replicas: 6" in text and "scale-needs-approval" in text and "*Approvals:* 0 of 1" in text


async def test_an_approval_click_is_acked_fast_and_resumes_the_graph_which_executes(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await harness.click(token, ALICE)
    assert response.status_code == 200 and loop.time() - started < 3
    assert "Approved (1 of 1)" in await ephemeral_to(harness, ALICE)
    await harness.run_worker()
    executed = actions_run(harness, incident.id)
    assert [a["action"] for a in executed] == ["k8s.scale"]
    await harness.slack.notifier.sync(incident.id)
    message = harness.message(incident.id)
    assert buttons(message) == [], "the buttons are replaced by the outcome"
    assert f"*Approved* by <@{ALICE}>" in text_of(message)
    thread = harness.slack.notifier.thread(incident.id)
    assert thread is not None
    assert any("*Execution:* `k8s.scale`" in c.params["text"] for c in harness.slack_api.calls("chat.postMessage")
               if c.params.get("thread_ts") == thread.ts)


async def test_a_click_by_a_non_approver_is_refused_and_changes_nothing(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    await harness.click(token, MALLORY)
    assert "not an approver" in await ephemeral_to(harness, MALLORY)
    assert harness.store.queue_depth() == 0
    assert harness.store.get_incident(incident.id).status == "awaiting_approval"
    assert buttons(harness.message(incident.id)) == [token, token]


async def test_a_member_of_an_approver_user_group_may_approve(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    await harness.click(token, CAROL)
    assert "Approved (1 of 1)" in await ephemeral_to(harness, CAROL)
    assert any(c.params.get("usergroup") == ONCALL for c in harness.slack_api.calls("usergroups.users.list"))
    await harness.run_worker()
    assert [a["action"] for a in actions_run(harness, incident.id)] == ["k8s.scale"], "the graph counts her too"


async def test_the_requester_never_counts(harness: Harness) -> None:
    incident, token = await waiting(harness, decision(), requester=ALICE)
    await harness.click(token, ALICE)
    assert "You asked for this change" in await ephemeral_to(harness, ALICE)
    assert harness.store.queue_depth() == 0


async def test_a_two_person_rule_waits_for_the_second_approver_and_shows_who_approved(harness: Harness) -> None:
    incident, token = await waiting(harness, decision(need=2))
    await harness.click(token, ALICE)
    assert "Waiting for 1 more" in await ephemeral_to(harness, ALICE)
    await harness.run_worker()
    assert actions_run(harness, incident.id) == [], "one approval of two executes nothing"
    await harness.slack.notifier.sync(incident.id)
    assert f"*Approvals:* 1 of 2 — <@{ALICE}>" in text_of(harness.message(incident.id))
    assert buttons(harness.message(incident.id)) == [token, token]
    await harness.click(token, CAROL)
    assert "Approved (2 of 2)" in await ephemeral_to(harness, CAROL)
    await harness.run_worker()
    assert [a["action"] for a in actions_run(harness, incident.id)] == ["k8s.scale"]


async def test_an_expired_approval_is_refused_and_the_buttons_say_so(harness: Harness) -> None:
    incident, token = await waiting(harness, decision(ttl_s=1))
    await asyncio.sleep(1.2)
    await harness.click(token, ALICE)
    assert "Too late" in await ephemeral_to(harness, ALICE)
    assert harness.store.queue_depth() == 0
    message = harness.message(incident.id)
    assert buttons(message) == [] and "*Expired:*" in text_of(message)
    refused = [r for r in harness.audit.records(incident.id) if r.kind == "approval"]
    assert refused and refused[-1].data["verdict"] == "refused"


async def test_a_click_on_a_stale_preview_is_refused(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())

    async def target_now(proposal: Proposal) -> dict[str, Any]:
        return {"generation": 8, "replicas": 4}  # someone scaled it by hand since the preview

    harness.slack.deps.desk.read_target = target_now
    await harness.click(token, ALICE)
    said = await ephemeral_to(harness, ALICE)
    assert "target changed since the preview" in said and "generation 7" in said
    assert harness.store.queue_depth() == 0
    message = harness.message(incident.id)
    assert buttons(message) == [] and "*Stale preview:*" in text_of(message)


async def test_buttons_of_a_superseded_proposal_are_refused(harness: Harness) -> None:
    incident, old = await waiting(harness, decision())
    newer = SCALE.model_copy(update={"params": {**SCALE.params, "replicas": 5}})
    harness.audit.append(incident.id, "proposal", "system", newer.model_dump(mode="json"))
    harness.audit.append(incident.id, "decision", "system", decision().model_dump(mode="json"))
    await harness.click(old, ALICE)
    assert "stale" in await ephemeral_to(harness, ALICE)
    assert harness.store.queue_depth() == 0


async def test_a_double_click_executes_once(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    first, second = await asyncio.gather(harness.click(token, ALICE), harness.click(token, ALICE))
    assert first.status_code == second.status_code == 200
    await harness.wait_for(lambda: len(harness.slack_api.calls("chat.postEphemeral")) >= 2, "two answers")
    answers = sorted(c.params["text"] for c in harness.slack_api.calls("chat.postEphemeral"))
    assert any("already recorded" in a for a in answers) and any("Approved" in a for a in answers)
    await harness.run_worker()
    assert len(actions_run(harness, incident.id)) == 1


async def test_a_replayed_click_from_another_approver_after_execution_acts_not(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    await harness.click(token, ALICE)
    await ephemeral_to(harness, ALICE)
    await harness.run_worker()
    await harness.click(token, BOB)
    said = await ephemeral_to(harness, BOB)
    assert "already decided" in said or "not an approver" in said
    await harness.run_worker()
    assert len(actions_run(harness, incident.id)) == 1


async def test_a_rejection_records_and_changes_nothing(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    await harness.click(token, ALICE, approve=False)
    assert "Rejected" in await ephemeral_to(harness, ALICE)
    await harness.run_worker()
    assert actions_run(harness, incident.id) == []
    await harness.slack.notifier.sync(incident.id)
    assert f"*Rejected* by <@{ALICE}>" in text_of(harness.message(incident.id))


async def test_approve_by_command_follows_the_same_rules(harness: Harness) -> None:
    incident, token = await waiting(harness, decision())
    refused = await harness.command(f"approve {incident.id}", user=MALLORY)
    assert "not an approver" in refused.params["text"]
    answer = await harness.command(f"approve {incident.id} looks right", user=ALICE)
    assert "Approved (1 of 1)" in answer.params["text"]
    await harness.run_worker()
    assert len(actions_run(harness, incident.id)) == 1


async def test_a_refusal_by_the_graph_on_resume_reaches_the_clicker_and_the_message(harness: Harness) -> None:
    previewed = SCALE.model_copy(update={"preview": {
        "summary": "scale prod/Deployment/summarizer 3 → 6", "previewed_at": datetime.now(UTC).isoformat(),
        "diff": [{"path": "spec.replicas", "before": 3, "after": 6}], "snapshot": {"generation": 7, "replicas": 3}}})
    now = datetime.now(UTC)
    incident = harness.store.open_incident(title="t", labels={}, instant=now, source="slack", requester="", now=now)
    harness.store.claim_job("test", now)
    harness.store.finish_job(1, now)
    await harness.stage_decision(incident, previewed, decision())
    harness.store.enqueue(incident.id, "investigate", {}, now)
    await harness.run_worker()
    await harness.slack.notifier.sync(incident.id)
    token = button_token(incident.id, read_timeline(harness.audit.records(incident.id)).proposal_seq)
    assert "spec.replicas: 3\n+ spec.replicas: 6" in text_of(harness.message(incident.id))  # the preview's diff
    await harness.click(token, ALICE)
    assert "Approved (1 of 1)" in await ephemeral_to(harness, ALICE)
    await harness.run_worker()  # the approve node re-reads the target: there is no cluster to read it from
    said = await harness.wait_for(lambda: [c.params["text"] for c in harness.slack_api.calls("chat.postEphemeral")
                                           if "did not go through" in c.params["text"]], "the late refusal")
    assert "preview" in said
    assert actions_run(harness, incident.id) == []
    await harness.slack.notifier.sync(incident.id)
    message = harness.message(incident.id)
    assert buttons(message) == [] and "*Refused:*" in text_of(message)
