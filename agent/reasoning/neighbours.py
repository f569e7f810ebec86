"""Neighbour checks: the alerting service's namespace, looked at as a whole.

A service often fails because something it calls fails: a session store killed for memory, an embedder whose
new version crashes at start. The evidence tools look at the alerting service; these checks look for
workloads of the same namespace whose pods are OOM killed, crash looping, unable to start or restarting, at the
investigation instant. The answers use the catalog's shape (`{"signals": [{"signal", "series"}]}`) so the
infra rules read them like any other signal set, and the cascade then names the neighbour as the root cause.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from agent.context import Context
from agent.models import Evidence
from tools import prometheus
from tools.result import result

TOOL = "neighbour_signals"
CHECKS: dict[str, str] = {
    "oom_kills": 'kube_pod_container_status_last_terminated_reason{{namespace="{ns}",reason="OOMKilled"}} > 0',
    "waiting_reasons": 'kube_pod_container_status_waiting_reason{{namespace="{ns}",'
                       'reason=~"CrashLoopBackOff|ImagePullBackOff|ErrImagePull|CreateContainerConfigError"}} > 0',
    "restarts": 'sum by (namespace, pod, container) '
                '(increase(kube_pod_container_status_restarts_total{{namespace="{ns}"}}[15m])) > 0',
}


def _series(found: Evidence) -> list[dict[str, Any]]:
    out = []
    for item in found.data or []:
        try:
            value = float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        out.append({"labels": dict(item.get("metric") or {}), "value": value, "baseline": None})
    return out


def neighbour_checks(ctx: Context, namespace: str) -> Evidence:
    """Run the checks for `namespace` at the instant; one Evidence in the signal-set shape."""
    started = time.perf_counter()
    queries = {name: q.format(ns=namespace) for name, q in CHECKS.items()}
    query = "; ".join(queries.values())
    signals, errors = [], {}
    for name, promql in queries.items():
        found = prometheus.instant_query(ctx.clients.prometheus, promql, ctx.instant,
                                         timeout_s=ctx.settings.tool_timeout_s)
        if found.status == "error":
            errors[name] = found.error
        elif found.status == "ok":
            signals.append({"signal": name, "query": promql, "series": _series(found)})
    status = "ok" if signals else ("error" if len(errors) == len(queries) else "no_data")
    data = {"scope": {"namespace": namespace}, "signals": signals, "errors": errors}
    summary = f"{sum(len(s['series']) for s in signals)} troubled containers in namespace {namespace}"
    return result(TOOL, status, query, data=data, summary=summary,  # type: ignore[arg-type]
                  duration_ms=(time.perf_counter() - started) * 1000)


async def run_neighbour_checks(ctx: Context, namespace: str) -> list[Evidence]:
    if not namespace or ctx.clients.prometheus is None:
        return []
    return [await asyncio.to_thread(neighbour_checks, ctx, namespace)]
