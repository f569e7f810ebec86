from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import Diagnosis
from agent.nodes import audited
from agent.state import State


@audited("diagnose")
async def diagnose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Weigh the evidence. Until a reasoner scores it, the honest answer is `inconclusive`."""
    ctx = runtime.context
    usable = [e for e in state.evidence if e.status == "ok"]
    diagnosis = Diagnosis(
        status="inconclusive",
        summary=f"No reasoner has scored the evidence yet ({len(usable)} of {len(state.evidence)} tool calls "
        "returned data); a human should look.",
        reasoner="none",
    )
    ctx.audit.append(ctx.incident_id, "diagnosis", "system", diagnosis.model_dump(mode="json"))
    return {"diagnosis": diagnosis}
