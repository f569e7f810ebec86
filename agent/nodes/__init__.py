"""The graph's nodes, one module each. Every node is `async def node(state, runtime) -> dict` and returns only
the keys it changes; `audited` records in the audit log that the node finished."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.state import State

Node = Callable[[State, Runtime[Context]], Awaitable[dict[str, Any]]]


def audited(name: str) -> Callable[[Node], Any]:
    """Record `{"node": name, "event": "finished"}` after the node returns, so a trace shows what ran."""

    def wrap(fn: Node) -> Any:
        @functools.wraps(fn)
        async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
            update = await fn(state, runtime)
            ctx = runtime.context
            ctx.audit.append(ctx.incident_id, "node", "system",
                             {"node": name, "event": "finished", "updated": sorted(update)})
            return update

        return node

    return wrap
