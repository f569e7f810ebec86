"""Pick the first remediation: from the winning runbook (offline) or as the LLM proposed it (checked again)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Diagnosis, Proposal
from agent.nodes import audited
from agent.reasoning.binding import incident_scopes, refusal
from agent.reasoning.catalog import check_params
from agent.reasoning.proposal import escalate, propose_from_runbook, target_of
from agent.state import State


def _from_llm(state: State, ctx: Context) -> Proposal | None:
    assert state.diagnosis is not None
    action = state.remedy.get("llm_action")
    if action is None:
        if state.diagnosis.status == "inconclusive":
            return escalate(ctx.incident_id, f"inconclusive diagnosis: {state.diagnosis.summary}")
        if state.diagnosis.domain == "none":
            return None
        return escalate(ctx.incident_id, f"the LLM proposed no action for: {state.diagnosis.summary}")
    name, params = str(action["action"]), dict(action.get("params") or {})
    problems = check_params(name, params)
    if problems:  # the verdict was checked already; this guards the checkpointed copy
        return escalate(ctx.incident_id, f"the LLM's proposal was refused: {'; '.join(problems)}")
    offline = _offline(state)
    labels = state.incident.labels if state.incident else {}
    outside = refusal(name, params, incident_scopes(labels, offline.root_cause if offline else {},
                                                   state.diagnosis.root_cause))
    if outside:
        ctx.audit.append(ctx.incident_id, "proposal", state.diagnosis.reasoner, {
            "event": "refused", "action": name, "params": params,
            "reason": f"the LLM's proposal reaches outside the incident: {outside}; the offline proposal is used"})
        if offline is None:
            return escalate(ctx.incident_id, "the LLM's proposal was refused and no offline diagnosis is at hand")
        fallback = _runbook_proposal(state, ctx, offline)
        if fallback is None:
            return None
        return fallback.model_copy(update={"reason": f"{fallback.reason} (the LLM proposed {name} outside the "
                                                     f"incident, refused: {outside})"})
    return Proposal(action=name, params=params, target=target_of(name, params, ctx.incident_id),
                    reason=state.diagnosis.summary, runbook=str(action.get("runbook") or ""))


def _offline(state: State) -> Diagnosis | None:
    raw = state.remedy.get("offline")
    return Diagnosis.model_validate(raw) if raw else None


def _runbook_proposal(state: State, ctx: Context, diagnosis: Diagnosis) -> Proposal | None:
    """The offline proposal: the first remediation of the diagnosis's runbook, filled from the facts."""
    return propose_from_runbook(diagnosis, diagnosis.runbook, state.remedy.get("remediations") or [],
                                state.remedy.get("facts") or {}, ctx.incident_id)


@audited("propose")
async def propose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    diagnosis = state.diagnosis
    actor = "system"
    if diagnosis is None:
        proposal: Proposal | None = escalate(ctx.incident_id, "no diagnosis")
    elif diagnosis.reasoner.startswith("llm:"):
        actor = diagnosis.reasoner
        proposal = _from_llm(state, ctx)
    else:
        proposal = _runbook_proposal(state, ctx, diagnosis)
    if proposal is None:
        ctx.audit.append(ctx.incident_id, "proposal", actor, {"action": None, "reason": "no fault found"})
    else:
        ctx.audit.append(ctx.incident_id, "proposal", actor, proposal.model_dump(mode="json"))
    return {"proposal": proposal}
