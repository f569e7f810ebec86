from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes import audited
from agent.state import State
from tools.investigation import gather, plan


@audited("investigate")
async def investigate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the incident's read-only tools in parallel under the overall time budget; audit every call."""
    ctx = runtime.context
    assert state.incident is not None
    evidence = await gather(plan(state.incident, ctx), timeout_s=ctx.settings.tool_timeout_s,
                            budget_s=ctx.settings.investigate_budget_s)
    for item in evidence:
        ctx.audit.append(ctx.incident_id, "tool_call", "system", {
            "tool": item.tool, "status": item.status, "query": item.query, "summary": item.summary,
            "error": item.error, "duration_ms": round(item.duration_ms, 1),
        })
    return {"evidence": evidence}
