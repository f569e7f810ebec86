"""The alerting rule behind an alert, as Prometheus has it loaded (`GET /api/v1/rules?type=alert`; read-only).

The rule says how the team defined the symptom: its expression, how long it must hold (`for`, Prometheus's
`duration` in seconds) and how often its group is evaluated (`interval`). The investigation sizes the alert's
windows from these instead of a fixed 5 minutes. A rule that Prometheus does not know (another Prometheus
evaluates it, or the alert came from elsewhere) is simply absent: callers fall back to their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_s: float
    interval_s: float


def _same(expr_a: str, expr_b: str) -> bool:
    return "".join(expr_a.split()) == "".join(expr_b.split())


def find_rule(prom: Any, alertname: str, expr: str = "", *, timeout_s: float = 10.0) -> AlertRule | None:
    """The loaded alerting rule named `alertname` (the one with expression `expr` when several share the
    name); None when Prometheus has no such rule or cannot be asked."""
    if prom is None or not alertname:
        return None
    try:
        response = prom._session.get(f"{prom.url}/api/v1/rules", params={"type": "alert"},
                                     headers=prom.headers, timeout=timeout_s)
        groups = response.json()["data"]["groups"]
    except Exception:  # an old Prometheus, a proxy in the way: the windows fall back to their defaults
        return None
    found: list[AlertRule] = []
    for group in groups if isinstance(groups, list) else []:
        for rule in group.get("rules") or []:
            if rule.get("type") == "alerting" and rule.get("name") == alertname:
                found.append(AlertRule(alertname, str(rule.get("query", "")), float(rule.get("duration") or 0),
                                       float(group.get("interval") or 0)))
    if expr:
        exact = [r for r in found if _same(r.expr, expr)]
        found = exact or found
    return found[0] if found else None
