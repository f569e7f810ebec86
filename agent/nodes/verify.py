from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes import audited
from agent.state import State


@audited("verify")
async def verify(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check whether the action helped. Nothing that changed the world ran, so there is nothing to verify."""
    ctx = runtime.context
    result = state.result
    verdict = "unclear" if result is not None and result.status == "succeeded" else ""
    ctx.audit.append(ctx.incident_id, "verification", "system", {
        "verdict": verdict or "not_applicable",
        "detail": "no change was made" if not verdict else "no verifier for this action yet",
    })
    return {"verification": verdict}
