from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import ActionResult
from agent.nodes import audited
from agent.state import State


@audited("execute")
async def execute(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Carry out the allowed or approved proposal."""
    ctx = runtime.context
    proposal = state.proposal
    assert proposal is not None
    if proposal.action == "notify.escalate":
        notifier = ctx.clients.notifier
        if notifier is not None:
            notifier.escalate(ctx.incident_id, proposal.reason)
        result = ActionResult(action=proposal.action, target=proposal.target, status="escalated",
                              detail="a human was asked to look" + ("" if notifier else " (no notifier set up)"))
    else:
        result = ActionResult(action=proposal.action, target=proposal.target, status="skipped",
                              detail=f"{proposal.action} has no executor in this build; nothing was changed")
    ctx.audit.append(ctx.incident_id, "action", "system", result.model_dump(mode="json"))
    return {"result": result}
