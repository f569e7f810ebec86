from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes import audited
from agent.state import State


@audited("intake")
async def intake(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Load the incident the alert opened and mark it as under investigation."""
    ctx = runtime.context
    incident = ctx.store.get_incident(state.incident_id)
    if incident.status == "open":
        ctx.store.set_incident_status(incident.id, "investigating", ctx.clock())
        incident = incident.model_copy(update={"status": "investigating"})
    return {"incident": incident}
