"""The alert's own condition over time: does it hold now, did it hold within its `for`, was it the usual state?

An alert is evidence in its own right. Its expression is what the team decided a fault looks like, so this tool
evaluates that expression (from the alert's Prometheus generator URL) as a range query from an hour before the
onset to the investigation instant, and says:

- `holds_now`: the expression returns a series at the instant;
- `held_in_for`: it returned one at some step within the rule's `for` window before the instant (an alert
  whose condition dips for one evaluation still describes a current symptom);
- `baseline_share`: the share of steps in the hour before the onset (less the `for` and the expression's own
  range, which belong to the episode) at which it already held. A condition that held most of the time before
  the alert is the service's usual state, not a new fault;
- `first_held` / `last_held`: when the condition held first and last inside the window;
- `recent_holds`: for an expression whose range is longer than RECENT (say `increase(restarts[1h]) > 0`), the
  same expression with every range cut to RECENT, at the instant. Such a condition keeps holding for its whole
  range after the event it counts is over; the short form tells whether the event is still going on. None
  when the expression's own ranges are RECENT or shorter (then `holds_now` already says it).

The rule's `for` and evaluation interval come from Prometheus's `/api/v1/rules` (tools/alert_rules.py) when the
rule is loaded there; otherwise `for` is taken as 0 and the step as 60 s.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools.prometheus import QueryFailed, query_matrix, query_vector
from tools.result import result

TOOL = "alert_window"
BASELINE = timedelta(hours=1)
"""How far before the onset the usual state of the condition is read."""
DEFAULT_STEP_S = 60.0
MIN_STEP_S = 15.0
RECENT_S = 300.0
"""The conventional rate window: what "now" means for a counter-based condition."""
RANGE = re.compile(r"\[(\d+)([smhdw])(?::[^\]]*)?\]")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def longest_range_s(expr: str) -> float:
    """The longest range selector in a PromQL expression (`rate(x[5m])` -> 300); 0 without one."""
    return float(max((int(n) * UNITS[u] for n, u in RANGE.findall(expr)), default=0))


def alert_window(prom: Any, expr: str, onset: datetime, at: datetime, *, for_s: float = 0.0,
                 step_s: float = DEFAULT_STEP_S, timeout_s: float = 10.0) -> Evidence:
    """The alert expression `expr` from BASELINE before `onset` to `at`; see the module docstring."""
    step_s = max(float(step_s or DEFAULT_STEP_S), MIN_STEP_S)
    start = onset - BASELINE
    query = f"{expr} from {start.isoformat()} to {at.isoformat()} step {step_s:g}s"
    try:
        series = query_matrix(prom, expr, start, at, step_s, timeout_s)
    except QueryFailed as exc:
        return result(TOOL, "error", query, error=str(exc))
    held = sorted({float(ts) for s in series for ts, v in s["points"] if v is not None})
    range_s = longest_range_s(expr)
    # the episode began `for` before the onset (the rule waited), and its range reaches back further still
    episode_start = onset.timestamp() - for_s - range_s
    steps = max(int((episode_start - start.timestamp()) // step_s), 0)
    in_baseline = sum(1 for ts in held if ts < episode_start)
    now = at.timestamp()
    data = {
        "expr": expr, "for_s": for_s, "range_s": range_s, "step_s": step_s,
        "onset": onset.isoformat(), "at": at.isoformat(),
        "holds_now": any(ts >= now - step_s / 2 for ts in held),
        "held_in_for": any(ts >= now - max(for_s, step_s) for ts in held),
        "baseline_steps": steps,
        "baseline_share": round(in_baseline / steps, 3) if steps else None,
        "first_held": datetime.fromtimestamp(held[0], onset.tzinfo).isoformat() if held else None,
        "last_held": datetime.fromtimestamp(held[-1], onset.tzinfo).isoformat() if held else None,
        "series": [{"labels": s["labels"], "value": next((v for _, v in reversed(s["points"]) if v is not None),
                                                          None)} for s in series[:20]],
    }
    if range_s > RECENT_S and data["holds_now"]:
        short = RANGE.sub(f"[{int(RECENT_S)}s]", expr)
        try:
            data["recent_expr"] = short
            data["recent_holds"] = bool(query_vector(prom, short, at, timeout_s))
        except QueryFailed as exc:
            data["recent_error"] = str(exc)
    if not held:
        return result(TOOL, "no_data", query, data=data, summary="the alert's condition never held in the window")
    state = "holds now" if data["holds_now"] else ("held within its for" if data["held_in_for"] else "cleared")
    share = data["baseline_share"]
    usual = f"; held at {share:.0%} of the hour before" if share is not None else ""
    return result(TOOL, "ok", query, data=data, summary=f"the alert's condition {state}{usual}")
