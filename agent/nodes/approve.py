from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.context import Context
from agent.models import Approval
from agent.nodes import audited
from agent.state import State


@audited("approve")
async def approve(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Wait for a human: the graph pauses here until an approval or rejection resumes it.

    Resumed with `Command(resume=Approval-as-dict)`, from `opsmedic approve|reject`, the HTTP API or Slack.
    """
    ctx = runtime.context
    assert state.proposal is not None and state.decision is not None
    ctx.store.set_incident_status(ctx.incident_id, "awaiting_approval", ctx.clock())
    answer = interrupt({
        "incident_id": ctx.incident_id,
        "proposal": state.proposal.model_dump(mode="json"),
        "decision": state.decision.model_dump(mode="json"),
    })
    approval = Approval.model_validate(answer)
    ctx.audit.append(ctx.incident_id, "approval", approval.actor, approval.model_dump(mode="json"))
    ctx.store.set_incident_status(ctx.incident_id, "investigating", ctx.clock())
    return {"approvals": [*state.approvals, approval]}
