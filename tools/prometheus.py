"""Prometheus: queries as of the investigation instant, and the questions diagnosis asks of them (read-only).

Every function takes a `prometheus_api_client.PrometheusConnect` (or None when Prometheus is not configured),
the instant, and a per-call timeout, and returns `agent.models.Evidence`; none of them raises. The shapes of
`Evidence.data` are documented in tools/EVIDENCE.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools.result import result

TOOL = "prometheus"


class QueryFailed(Exception):
    """Prometheus answered something other than a result (internal to this module and its callers)."""


def duration(seconds: float) -> str:
    """A PromQL duration for a number of seconds: 300 -> '5m', 90 -> '90s'."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{max(whole, 1)}s"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def number(raw: Any) -> float | None:
    """A sample value as a float; None for NaN and infinities (they do not survive JSON)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def query_vector(prom: Any, promql: str, at: datetime, timeout_s: float) -> list[dict[str, Any]]:
    """[{"labels": {...}, "value": float | None}] for `promql` at `at`; raises QueryFailed on any failure."""
    if prom is None:
        raise QueryFailed("Prometheus is not configured")
    try:
        raw = prom.custom_query(promql, params={"time": at.timestamp(), "timeout": f"{timeout_s:g}s"},
                                timeout=timeout_s)
    except Exception as exc:
        raise QueryFailed(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    return _vector(raw)


def query_matrix(prom: Any, promql: str, start: datetime, end: datetime, step_s: float,
                 timeout_s: float) -> list[dict[str, Any]]:
    """[{"labels": {...}, "points": [[unix_ts, value], ...]}]; raises QueryFailed on any failure."""
    if prom is None:
        raise QueryFailed("Prometheus is not configured")
    try:
        raw = prom.custom_query_range(promql, start_time=start, end_time=end, step=f"{step_s:g}s",
                                      params={"timeout": f"{timeout_s:g}s"}, timeout=timeout_s)
    except Exception as exc:
        raise QueryFailed(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    if not isinstance(raw, list):
        raise QueryFailed(f"unexpected answer from Prometheus: {str(raw)[:200]}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise QueryFailed(f"unexpected series from Prometheus: {str(item)[:200]}")
        points = [[float(ts), number(v)] for ts, v in item["values"]]
        out.append({"labels": dict(item.get("metric") or {}), "points": points})
    return out


def _vector(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise QueryFailed(f"unexpected answer from Prometheus: {str(raw)[:200]}")
    out = []
    for item in raw:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, list) or len(value) != 2:
            raise QueryFailed(f"unexpected sample from Prometheus: {str(item)[:200]}")
        out.append({"labels": dict(item.get("metric") or {}), "value": number(value[1])})
    return out


def _at(query: str, at: datetime) -> str:
    return f"{query} @ {at.isoformat()}"


def instant_query(prom: Any, promql: str, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """Evaluate a PromQL expression at the investigation instant and return every series it yields.

    Use it for a question no named signal answers. `ok` with the Prometheus vector
    (`[{"metric": {labels}, "value": [ts, "v"]}]`), `no_data` when the vector is empty, `error` when
    Prometheus is unreachable, slow or rejects the expression.
    """
    query = _at(promql, at)
    if prom is None:
        return result(TOOL, "error", query, error="Prometheus is not configured")
    try:
        data = prom.custom_query(promql, params={"time": at.timestamp(), "timeout": f"{timeout_s:g}s"},
                                 timeout=timeout_s)
        _vector(data)
    except QueryFailed as exc:
        return result(TOOL, "error", query, error=str(exc))
    except Exception as exc:
        return result(TOOL, "error", query, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    if not data:
        return result(TOOL, "no_data", query, summary="no series")
    return result(TOOL, "ok", query, data=data, summary=f"{len(data)} series")


def range_query(prom: Any, promql: str, start: datetime, end: datetime, *, step_s: float = 60.0,
                timeout_s: float = 10.0) -> Evidence:
    """Evaluate a PromQL expression at every step from `start` to `end` (the investigation window).

    Use it to see how a signal moved before and during the incident. `ok` with
    `[{"labels": {...}, "points": [[unix_ts, value], ...]}]`, `no_data` with no series.
    """
    query = f"{promql} from {start.isoformat()} to {end.isoformat()} step {step_s:g}s"
    try:
        series = query_matrix(prom, promql, start, end, step_s, timeout_s)
    except QueryFailed as exc:
        return result(TOOL, "error", query, error=str(exc))
    if not series:
        return result(TOOL, "no_data", query, summary="no series")
    return result(TOOL, "ok", query, data=series, summary=f"{len(series)} series")


def rate(prom: Any, selector: str, window_s: float, at: datetime, *, by: Sequence[str] = (),
         timeout_s: float = 10.0) -> Evidence:
    """The per-second rate of a counter over the `window_s` seconds before the instant, summed by `by`.

    `selector` is a metric with its matchers, e.g. `llm_requests_total{service="chat"}`. `ok` with
    `{"series": [{"labels": {...}, "value": per_second}]}`.
    """
    promql = f"sum by ({', '.join(by)}) (rate({selector}[{duration(window_s)}]))" if by else \
        f"rate({selector}[{duration(window_s)}])"
    return compare(prom, promql, at, None, timeout_s=timeout_s)


def compare(prom: Any, promql: str, at: datetime, baseline_at: datetime | None, *, name: str = "",
            timeout_s: float = 10.0, tool: str = TOOL) -> Evidence:
    """A PromQL expression now against its value at a baseline instant (before the trouble started).

    `ok` with `{"signal": name, "at": iso, "baseline_at": iso | null, "series": [{"labels": {...},
    "value": now, "baseline": then | null}]}`; a series that did not exist at the baseline has baseline null.
    `no_data` when the expression yields nothing now (whatever the baseline held).
    """
    query = _at(promql, at) + (f" vs @ {baseline_at.isoformat()}" if baseline_at else "")
    try:
        now = query_vector(prom, promql, at, timeout_s)
        then = query_vector(prom, promql, baseline_at, timeout_s) if baseline_at and now else []
    except QueryFailed as exc:
        return result(tool, "error", query, error=str(exc))
    before = {_key(s["labels"]): s["value"] for s in then}
    series = [{"labels": s["labels"], "value": s["value"], "baseline": before.get(_key(s["labels"]))}
              for s in now]
    data = {"signal": name, "at": at.isoformat(), "baseline_at": baseline_at.isoformat() if baseline_at else None,
            "series": series}
    if not series:
        return result(tool, "no_data", query, data=data, summary="no series")
    return result(tool, "ok", query, data=data, summary=f"{len(series)} series")


def top(prom: Any, promql: str, at: datetime, *, k: int = 5, timeout_s: float = 10.0) -> Evidence:
    """The `k` series with the highest value of a PromQL expression at the instant, highest first.

    Use it to find which pod, model or provider stands out. `ok` with `{"series": [{"labels", "value"}]}`.
    """
    promql_k = f"topk({int(k)}, {promql})"
    evidence = compare(prom, promql_k, at, None, timeout_s=timeout_s)
    if evidence.status == "ok":
        data = dict(evidence.data)
        data["series"] = sorted(data["series"], key=lambda s: -(s["value"] if s["value"] is not None else -math.inf))
        return evidence.model_copy(update={"data": data})
    return evidence


def first_seen(prom: Any, selector: str, at: datetime, *, lookback_s: float = 6 * 3600, step_s: float = 60.0,
               timeout_s: float = 10.0) -> Evidence:
    """When each series of `selector` first (and last) had a sample within `lookback_s` before the instant.

    Use it to tell when something new appeared (a pod, a model version, an error reason). `ok` with
    `{"series": [{"labels": {...}, "first_seen": iso, "last_seen": iso, "new": bool}]}`, earliest first;
    `new` is true when the series appeared after the start of the lookback window and after the earliest
    series of the answer (so a metric whose data begins inside the window is not all "new").
    """
    start = at - timedelta(seconds=lookback_s)
    query = f"{selector} from {start.isoformat()} to {at.isoformat()} step {step_s:g}s"
    try:
        series = query_matrix(prom, selector, start, at, step_s, timeout_s)
    except QueryFailed as exc:
        return result(TOOL, "error", query, error=str(exc))
    seen = [(s["labels"], [ts for ts, v in s["points"] if v is not None]) for s in series]
    seen = [(labels, stamps) for labels, stamps in seen if stamps]
    earliest = min((min(stamps) for _, stamps in seen), default=start.timestamp())
    since = max(start.timestamp(), earliest) + step_s
    out = [{"labels": labels, "first_seen": iso(min(stamps)), "last_seen": iso(max(stamps)),
            "new": min(stamps) > since} for labels, stamps in seen]
    out.sort(key=lambda s: s["first_seen"])
    if not out:
        return result(TOOL, "no_data", query, summary="no series")
    return result(TOOL, "ok", query, data={"series": out}, summary=f"{len(out)} series")


def label_history(prom: Any, selector: str, label: str, at: datetime, *, lookback_s: float = 6 * 3600,
                  step_s: float = 60.0, timeout_s: float = 10.0) -> Evidence:
    """The values a label took on `selector` within `lookback_s` before the instant, and when each appeared.

    Use it to find when a `prompt_version` or `model_version` changed. `ok` with `{"label": name,
    "values": [{"label_value": v, "first_seen": iso, "last_seen": iso, "new": bool}]}`, earliest first.
    """
    promql = f"count by ({label}) ({selector})"
    evidence = first_seen(prom, promql, at, lookback_s=lookback_s, step_s=step_s, timeout_s=timeout_s)
    if evidence.status != "ok":
        return evidence
    values = [{"label_value": s["labels"].get(label, ""), "first_seen": s["first_seen"],
               "last_seen": s["last_seen"], "new": s["new"]} for s in evidence.data["series"]]
    return evidence.model_copy(update={"data": {"label": label, "values": values},
                                       "summary": f"{len(values)} values of {label}"})


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
