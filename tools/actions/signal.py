"""Verification's view of the alert: re-query the PromQL that fired (through `tools.prometheus`) and judge
whether the incident recovered, got worse, or is still unclear.

- `clear`: the alert expression returns nothing (the alert condition is false);
- `firing`: it returns series; their summed value is compared with the value when the alert fired;
- `unknown`: Prometheus could not answer, or there is no expression to ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tools import prometheus
from tools.actions.base import Check

WORSE_FACTOR = 1.5
"""The signal counts as worse when its value reaches this multiple of the value when the alert fired."""

Judgement = Literal["recovered", "worse", "pending"]


@dataclass(frozen=True)
class Reading:
    status: Literal["firing", "clear", "unknown"]
    value: float | None
    query: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "value": self.value, "query": self.query, "detail": self.detail}


def read(prom: Any, expr: str, at: datetime, *, timeout_s: float = 10.0) -> Reading:
    if not expr:
        return Reading("unknown", None, "", "the alert carries no expression to re-query")
    evidence = prometheus.instant_query(prom, expr, at, timeout_s=timeout_s)
    if evidence.status == "no_data":
        return Reading("clear", 0.0, evidence.query, "the alert expression returns nothing")
    if evidence.status == "error":
        return Reading("unknown", None, evidence.query, evidence.error)
    total = 0.0
    for series in evidence.data or []:
        try:
            total += float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return Reading("firing", total, evidence.query, f"{len(evidence.data or [])} series, sum {total:g}")


def judge(baseline: Reading, now: Reading, check: Check) -> Judgement:
    """`worse` when the action's own check failed or the signal grew past WORSE_FACTOR × baseline;
    `recovered` when the signal cleared and the action's check is ok; otherwise `pending`."""
    if check.status == "failed":
        return "worse"
    if (now.status == "firing" and baseline.value is not None and now.value is not None
            and now.value > baseline.value and now.value >= baseline.value * WORSE_FACTOR):
        return "worse"
    if now.status == "clear" and check.status == "ok":
        return "recovered"
    return "pending"
