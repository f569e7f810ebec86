"""Pick the first remediation: from the winning runbook (offline) or as the LLM proposed it (checked again)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Proposal
from agent.nodes import audited
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
    return Proposal(action=name, params=params, target=target_of(name, params, ctx.incident_id),
                    reason=state.diagnosis.summary, runbook=str(action.get("runbook") or ""))


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
        proposal = propose_from_runbook(
            diagnosis, diagnosis.runbook, state.remedy.get("remediations") or [], state.remedy.get("facts") or {},
            ctx.incident_id,
        )
    if proposal is None:
        ctx.audit.append(ctx.incident_id, "proposal", actor, {"action": None, "reason": "no fault found"})
    else:
        ctx.audit.append(ctx.incident_id, "proposal", actor, proposal.model_dump(mode="json"))
    return {"proposal": proposal}
