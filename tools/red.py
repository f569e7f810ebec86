"""RED signals of one service (rate, errors, duration) from Prometheus, each scored by tools/anomaly.py (read-only).

Conventions read: `http_requests_total` with the status in `code` (client_python, most exporters), `status`
(`"5xx"`, prometheus-fastapi-instrumentator) or `status_code`; `http_request_duration_seconds` as a histogram
(`_bucket`, for p95) and `_sum`/`_count` (histogram or summary, for the mean). A 5xx in any of the three labels is
an error. The error ratio gets a binomial floor on its spread, so a handful of failures on little traffic is not
scored as an outage, and is chronic when its baseline median is already at least 50 %.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools import anomaly
from tools.prometheus import QueryFailed, duration, query_vector
from tools.result import result

TOOL = "red"
ERROR_MATCH = ('code=~"5..", ', 'status=~"5..|5xx", ', 'status_code=~"5..", ')
CHRONIC_ERROR_RATIO = 0.5
"""An error ratio whose baseline median is at least this fails in normal operation: a standing condition."""


def _queries(selector: str, w: str) -> dict[str, str]:
    total = f"sum(rate(http_requests_total{{{selector}}}[{w}]))"
    errors = " or ".join(f"sum(rate(http_requests_total{{{m}{selector}}}[{w}]))" for m in ERROR_MATCH)
    return {
        "request_rate": total,
        "error_ratio": f"(({errors}) / {total})",
        "latency_mean": (f"sum(rate(http_request_duration_seconds_sum{{{selector}}}[{w}])) / "
                         f"sum(rate(http_request_duration_seconds_count{{{selector}}}[{w}]))"),
        "latency_p95": (f"histogram_quantile(0.95, sum by (le) "
                        f"(rate(http_request_duration_seconds_bucket{{{selector}}}[{w}])))"),
    }


def signals(prom: Any, service: str, onset: datetime, at: datetime, *, label: str = "service",
            window_s: float = 300.0, baseline: timedelta = timedelta(hours=1), step_s: float = 60.0,
            timeout_s: float = 10.0) -> Evidence:
    """Request rate, error ratio, mean and p95 latency of `service` from `onset` to `at`, each scored for anomaly.

    `ok` with `{"service", "signals": {name: {"query", "value" (at `at`), "anomalous", "score", "direction",
    "onset", "ended", "chronic", "baseline_median", "reason"}}}` for the signals Prometheus has; `no_data` when
    the service has none; `error` when Prometheus fails.
    """
    selector = f'{label}="{service}"'
    w = duration(window_s)
    query = f"RED of {selector} from {onset.isoformat()} to {at.isoformat()}"
    out: dict[str, Any] = {}
    for name, promql in _queries(selector, w).items():
        try:
            now = query_vector(prom, promql, at, timeout_s)
        except QueryFailed as exc:
            return result(TOOL, "error", query, error=f"{name}: {exc}")
        floor, chronic = 0.0, None
        if name == "error_ratio":
            chronic = CHRONIC_ERROR_RATIO
            rate = query_vector(prom, _queries(selector, w)["request_rate"], at, timeout_s)
            count = (rate[0]["value"] or 0.0) * window_s if rate else 0.0
            # Binomial noise of one error over the requests of a window: sqrt(p(1-p)/n) with p = 1/n.
            floor = math.sqrt(max(count - 1, 0.0)) / count**1.5 if count >= 1 else 1.0
        scored = anomaly.series(prom, promql, onset, at, baseline=baseline, step_s=step_s, timeout_s=timeout_s,
                                floor=floor, chronic_if_median_at_least=chronic)
        if scored.status == "error":
            return result(TOOL, "error", query, error=f"{name}: {scored.error}")
        if scored.status != "ok" or not now:
            continue
        [entry] = scored.data["series"][:1]
        out[name] = {"query": promql, "value": now[0]["value"],
                     **{k: v for k, v in entry.items() if k != "labels"}}
    if not out:
        return result(TOOL, "no_data", query, summary=f"no RED metrics for {selector}")
    flagged = [n for n, s in out.items() if s["anomalous"]]
    return result(TOOL, "ok", query, data={"service": service, "signals": out},
                  summary=f"{service}: anomalous {', '.join(flagged) or 'none'}")
