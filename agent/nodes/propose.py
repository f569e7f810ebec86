from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Proposal
from agent.nodes import audited
from agent.state import State


@audited("propose")
async def propose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pick the first remediation. An inconclusive diagnosis proposes nothing but paging a human."""
    ctx = runtime.context
    diagnosis = state.diagnosis
    if diagnosis is not None and diagnosis.status == "diagnosed" and diagnosis.domain == "none":
        ctx.audit.append(ctx.incident_id, "proposal", "system", {"action": None, "reason": "no fault found"})
        return {"proposal": None}
    proposal = Proposal(
        action="notify.escalate", target=f"incident:{ctx.incident_id}",
        reason=diagnosis.summary if diagnosis else "no diagnosis",
    )
    ctx.audit.append(ctx.incident_id, "proposal", "system", proposal.model_dump(mode="json"))
    return {"proposal": proposal}
