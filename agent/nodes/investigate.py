from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Evidence
from agent.nodes import audited
from agent.state import State
from tools.investigation import plan
from tools.result import result, run_tool


@audited("investigate")
async def investigate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the incident's read-only tools in parallel under the overall time budget; audit every call."""
    ctx = runtime.context
    assert state.incident is not None
    probes = plan(state.incident, ctx)
    tasks = [
        asyncio.create_task(run_tool(p.tool, p.query, p.call, ctx.settings.tool_timeout_s)) for p in probes
    ]
    done, pending = await asyncio.wait(tasks, timeout=ctx.settings.investigate_budget_s) if tasks else ((), ())
    evidence: list[Evidence] = []
    for probe, task in zip(probes, tasks, strict=True):
        if task in done:
            evidence.append(task.result())
        else:
            task.cancel()
            evidence.append(result(probe.tool, "error", probe.query,
                                   error=f"cut off by the {ctx.settings.investigate_budget_s:g} s budget"))
    for item in evidence:
        ctx.audit.append(ctx.incident_id, "tool_call", "system", {
            "tool": item.tool, "status": item.status, "query": item.query, "summary": item.summary,
            "error": item.error, "duration_ms": round(item.duration_ms, 1),
        })
    del pending
    return {"evidence": evidence}
