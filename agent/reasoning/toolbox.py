"""The read-only tools the LLM reasoner may call, bound to one incident's context.

Only tools that look: metrics as of the investigation instant, the runbooks. No action is ever offered here
(actions live in `tools.actions` and run only after the policy decides).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agent.context import Context
from agent.reasoning.runbooks import field_of, runbook_of
from tools import prometheus

MAX_CHARS = 4_000


def _dump(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " ...(truncated)"


def build_toolbox(ctx: Context) -> list[BaseTool]:
    tools: list[BaseTool] = []

    async def prometheus_query(promql: str) -> str:
        """Evaluate a PromQL expression as of the incident's investigation instant and return the series.

        Use the catalog's metric names, e.g. `sum by (status) (rate(llm_requests_total{service="chat"}[5m]))`,
        `increase(kube_pod_container_status_restarts_total{namespace="prod"}[30m])`. Answers
        `{"status": "ok"|"no_data"|"error", "data": [...]}`.
        """
        evidence = await asyncio.to_thread(
            prometheus.instant_query, ctx.clients.prometheus, promql, ctx.instant,
            timeout_s=ctx.settings.tool_timeout_s,
        )
        return _dump({"id": evidence.id, "status": evidence.status, "data": evidence.data, "error": evidence.error})

    tools.append(StructuredTool.from_function(coroutine=prometheus_query, name="prometheus_query"))

    if ctx.clients.runbooks is not None:
        index = ctx.clients.runbooks

        async def search_runbooks(query: str, alertname: str = "") -> str:
            """Search the team's runbooks (meaning, diagnosis, mitigation, remediations) for a failure.

            `query` says what you see, e.g. "prompt version broke JSON output" or "provider 429 rate limit";
            `alertname` narrows to runbooks matching that alert. Answers the best runbooks with their id,
            domain and remediations (most preferred first).
            """
            hits = await asyncio.to_thread(index.search, query, alert=alertname or None, labels=None, k=3)
            books = [runbook_of(h) for h in hits or []]
            return _dump([{"id": field_of(b, "id"), "title": field_of(b, "title"), "domain": field_of(b, "domain"),
                           "remediations": _remediations(b)} for b in books])

        tools.append(StructuredTool.from_function(coroutine=search_runbooks, name="search_runbooks"))
    return tools


def _remediations(book: Any) -> list[Any]:
    from agent.reasoning.proposal import remediations_of

    return [{"action": a, "params": p} for a, p in remediations_of(book)]
