from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Decision
from agent.nodes import audited
from agent.state import State


@audited("decide")
async def decide(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the policy whether the proposal may run, needs approval, or is denied."""
    ctx = runtime.context
    proposal = state.proposal
    assert proposal is not None
    if ctx.store.get_control("paused") is not None and proposal.action != "notify.escalate":
        decision = Decision(effect="deny", rule="kill-switch", reason="execution is paused (`opsmedic resume`)")
    elif proposal.action == "notify.escalate":
        decision = Decision(effect="allow", rule="builtin:escalate", reason="paging a human changes nothing")
    else:
        decision = Decision(effect="require_approval", rule="builtin:changes-need-approval",
                            reason="every change needs a human's approval", min_approvals=1)
    ctx.audit.append(ctx.incident_id, "decision", "system", decision.model_dump(mode="json"))
    return {"decision": decision}
