from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.executor import executor_for
from agent.models import ActionResult
from agent.nodes import audited
from agent.recheck import recheck
from agent.state import State


@audited("execute")
async def execute(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Carry out the allowed or approved proposal, once (see agent.executor), as the people who approved it —
    after asking the policy again with fresh inputs (agent.recheck): what moved meanwhile can stop it."""
    ctx = runtime.context
    proposal, decision = state.proposal, state.decision
    assert proposal is not None
    if proposal.action == "notify.escalate":
        notifier = ctx.clients.notifier
        if notifier is not None:
            notifier.escalate(ctx.incident_id, proposal.reason)
        result = ActionResult(action=proposal.action, target=proposal.target, status="escalated",
                              detail="a human was asked to look" + ("" if notifier else " (no notifier set up)"))
        ctx.audit.append(ctx.incident_id, "action", "system", result.model_dump(mode="json"))
        return {"result": result}
    approvers = [a.actor for a in state.approvals if a.approved]
    actor = ",".join(approvers) if approvers else f"policy:{decision.rule if decision else 'unknown'}"
    check = await asyncio.to_thread(recheck, ctx, state)
    ctx.audit.append(ctx.incident_id, "decision", "system", {**check.as_dict(), "action": proposal.action,
                                                             "target": proposal.target})
    if check.refusal:
        moved = f" (what changed: {'; '.join(check.changed)})" if check.changed else ""
        result = ActionResult(action=proposal.action, target=proposal.target, status="skipped",
                              detail=f"not run: {check.refusal}{moved}; nothing changed")
        ctx.audit.append(ctx.incident_id, "action", actor, {"event": "skipped", **result.model_dump(mode="json")})
        if ctx.clients.notifier is not None:
            ctx.clients.notifier.escalate(ctx.incident_id, f"{proposal.action} on {proposal.target} was approved "
                                                           f"but {result.detail}")
        return {"result": result}
    result = await asyncio.to_thread(executor_for(ctx).execute, ctx.incident_id, proposal, actor)
    return {"result": result}
