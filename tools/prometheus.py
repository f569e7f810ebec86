"""Prometheus: instant and range queries as of the investigation instant (read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.models import Evidence
from tools.result import result

TOOL = "prometheus"


def instant_query(prom: Any, promql: str, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """Evaluate `promql` at instant `at`. `ok` with the vector, `no_data` when it is empty, `error` otherwise.

    `prom` is a `prometheus_api_client.PrometheusConnect`.
    """
    query = f"{promql} @ {at.isoformat()}"
    if prom is None:
        return result(TOOL, "error", query, error="Prometheus is not configured")
    try:
        data = prom.custom_query(promql, params={"time": at.timestamp(), "timeout": f"{timeout_s:g}s"})
    except Exception as exc:
        return result(TOOL, "error", query, error=f"{type(exc).__name__}: {exc}")
    if not isinstance(data, list):
        return result(TOOL, "error", query, error=f"unexpected answer from Prometheus: {str(data)[:200]}")
    if not data:
        return result(TOOL, "no_data", query, summary="no series")
    return result(TOOL, "ok", query, data=data, summary=f"{len(data)} series")
