from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.approvals import check_approval, enough, target_changed
from agent.context import Context
from agent.executor import catalog_for
from agent.models import Approval, Proposal
from agent.nodes import audited
from agent.state import State
from tools.actions import ActionError


@audited("approve")
async def approve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Wait for a human: the graph pauses here until an approval or rejection resumes it.

    Resumed with `Command(resume=Approval-as-dict)`, from `opsmedic approve|reject`, the HTTP API or Slack.
    An approval that does not count (the requester's own, the bot's, a non-approver's, a repeat) is audited
    with the reason and the graph waits again; a late one or a rejection ends the run; the last approval
    needed is refused when the target changed since the preview.
    """
    ctx = runtime.context
    proposal, decision = state.proposal, state.decision
    assert proposal is not None and decision is not None
    ctx.store.set_incident_status(ctx.incident_id, "awaiting_approval", ctx.clock())
    answer = interrupt({
        "incident_id": ctx.incident_id,
        "proposal": proposal.model_dump(mode="json"),
        "decision": decision.model_dump(mode="json"),
    })
    approval = Approval.model_validate(answer)
    now = ctx.clock()
    counted = [a for a in state.approvals if a.approved]
    requester = state.incident.requester if state.incident else ctx.store.get_incident(ctx.incident_id).requester
    check = check_approval(
        approval, decision, requester=requester, decided_at=_decided_at(proposal, now), now=now, counted=counted,
        bot_ids=ctx.clients.bot_ids, groups=ctx.clients.approver_groups,
    )
    record = {**approval.model_dump(mode="json"), "verdict": check.verdict, "reason": check.reason,
              "action": proposal.action, "target": proposal.target, "params": proposal.params}
    ctx.audit.append(ctx.incident_id, "approval", approval.actor, record)
    approvals = list(state.approvals)
    if check.verdict == "ignored":
        return {"approvals": approvals}
    if check.verdict == "expired":
        approvals.append(Approval(approved=False, actor="system", at=now, comment=check.reason))
    else:
        approvals.append(approval)
        if check.verdict == "counted" and enough([*counted, approval], decision):
            refusal = await asyncio.to_thread(_stale, ctx, proposal)
            if refusal:
                ctx.audit.append(ctx.incident_id, "approval", "system", {
                    "event": "refused", "reason": refusal, "action": proposal.action, "target": proposal.target,
                    "approved_by": [a.actor for a in [*counted, approval]],
                })
                approvals.append(Approval(approved=False, actor="system", at=now, comment=refusal))
    ctx.store.set_incident_status(ctx.incident_id, "investigating", now)
    return {"approvals": approvals}


def _decided_at(proposal: Proposal, fallback: datetime) -> datetime:
    stamp = proposal.preview.get("previewed_at")
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else fallback


def _stale(ctx: Context, proposal: Proposal) -> str:
    """Why the approved proposal may not run because its target moved since the preview, or ''."""
    previewed = proposal.preview.get("snapshot")
    if not previewed:
        return ""
    try:
        action = catalog_for(ctx).get(proposal.action)
        current = action.snapshot(action.params(proposal.params))
    except ActionError as exc:
        return f"the target can no longer be read ({exc}); a new preview and approval are needed"
    changed = target_changed(previewed, current)
    if changed:
        return f"{proposal.target} changed since the preview ({changed}); a new preview and approval are needed"
    return ""


