"""Building tool results and running tool calls under a timeout."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.models import Evidence, ToolStatus


def result(
    tool: str, status: ToolStatus, query: str, *, data: Any = None, summary: str = "", error: str = "",
    duration_ms: float = 0.0,
) -> Evidence:
    return Evidence(
        id=f"{tool}-{uuid.uuid4().hex[:8]}", tool=tool, status=status, query=query, data=data, summary=summary,
        error=error, duration_ms=duration_ms,
    )


async def run_tool(tool: str, query: str, call: Callable[[], Evidence], timeout_s: float) -> Evidence:
    """Run a blocking tool call in a thread, cut off at `timeout_s`; never raises.

    A call that raises or times out becomes an `error` result naming the tool, the query and the cause.
    """
    started = time.perf_counter()
    try:
        evidence = await asyncio.wait_for(asyncio.to_thread(call), timeout=timeout_s)
    except TimeoutError:
        return result(tool, "error", query, error=f"timed out after {timeout_s:g} s",
                      duration_ms=(time.perf_counter() - started) * 1000)
    except Exception as exc:  # a tool must never take the graph down
        return result(tool, "error", query, error=f"{type(exc).__name__}: {exc}",
                      duration_ms=(time.perf_counter() - started) * 1000)
    return evidence.model_copy(update={"duration_ms": (time.perf_counter() - started) * 1000})
