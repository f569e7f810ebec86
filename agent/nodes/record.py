from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes import audited
from agent.state import State


def _outcome(state: State) -> str:
    if state.proposal is None:
        return "no action needed"
    if state.decision is not None and state.decision.effect == "deny":
        return f"{state.proposal.action} denied by {state.decision.rule}"
    if state.approvals and not state.approvals[-1].approved:
        return f"{state.proposal.action} rejected by {state.approvals[-1].actor}"
    if state.result is not None:
        return f"{state.result.action} {state.result.status}"
    return "ended without action"


@audited("record")
async def record(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Close the run: the outcome goes to the audit log and the incident leaves the work list."""
    ctx = runtime.context
    outcome = _outcome(state)
    incident = ctx.store.get_incident(ctx.incident_id)
    status = "resolved" if incident.alerts and not incident.firing else "handled"
    ctx.store.set_incident_status(ctx.incident_id, status, ctx.clock())
    ctx.audit.append(ctx.incident_id, "message", "system", {"outcome": outcome, "status": status})
    return {"outcome": outcome}
