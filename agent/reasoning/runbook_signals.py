"""Runbook signals: the PromQL checks a runbook's front matter names, run at the investigation instant.

A runbook says which signals support or weaken its explanation, e.g.
`{name: oom_kills, query: 'increase(...{namespace="{namespace}"}[30m])', supports_when: '> 0'}`. For the
runbooks that the index ranks first for an incident, the diagnose step renders each query with the alert's
labels, runs it at the instant and at a baseline an hour before the onset (read-only, audited like every tool
call), and the `runbook_signals` rule turns a condition that holds now but did not at the baseline into
evidence for the runbook's domain (a condition that always holds says nothing about this incident).

Conditions are one comparison with a number: `> 0`, `>= 0.9`, `< 0.7`, `== 1`, `!= 0`; a signal holds when
any returned series meets it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.context import Context
from agent.models import Evidence
from agent.reasoning.findings import Situation, as_float
from agent.reasoning.proposal import PLACEHOLDER
from agent.reasoning.runbooks import field_of, runbook_of
from tools import prometheus
from tools.result import run_tool

TOOL = "runbook_signal"
CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
SEARCH_K = 5
MAX_SIGNALS = 24


@dataclass(frozen=True)
class Check:
    runbook: str
    domain: str
    signal: str
    query: str
    supports_when: str
    weakens_when: str


def holds(condition: str, value: float) -> bool | None:
    """Whether `value` meets `condition` (None when the condition cannot be read)."""
    match = CONDITION.match(condition or "")
    if not match:
        return None
    return OPS[match.group(1)](value, float(match.group(2)))


def render_query(query: str, labels: Mapping[str, str]) -> str | None:
    """The query with `{placeholders}` filled from the labels; None when one is unknown. PromQL's own braces
    (`{service="x"}`, `[5m]`) are left alone: only `{name}` with a bare identifier is a placeholder."""
    missing = [m.group(1) for m in PLACEHOLDER.finditer(query) if not labels.get(m.group(1))]
    if missing:
        return None
    return PLACEHOLDER.sub(lambda m: str(labels[m.group(1)]), query)


def checks_for(index: Any, situation: Situation) -> list[Check]:
    """The signals of the runbooks the index ranks first for the incident's alert, rendered."""
    labels = situation.labels
    hits = matching(index, labels)
    if not hits:  # no runbook names this alert: fall back to the meaning of the alert's text
        query = " ".join(filter(None, [labels.get("alertname", ""),
                                       *(situation.incident.alerts[0].annotations.values()
                                         if situation.incident.alerts else ())]))
        hits = index.search(query or situation.incident.title, alert=labels.get("alertname"), labels=labels,
                            k=SEARCH_K)
    checks: list[Check] = []
    for hit in hits or []:
        book = runbook_of(hit)
        for signal in field_of(book, "signals") or []:
            raw = field_of(signal, "query") or field_of(signal, "promql") or field_of(signal, "expr") or ""
            rendered = render_query(str(raw), labels)
            if rendered:
                checks.append(Check(
                    str(field_of(book, "id")), str(field_of(book, "domain")), str(field_of(signal, "name") or ""),
                    rendered, str(field_of(signal, "supports_when") or ""), str(field_of(signal, "weakens_when") or ""),
                ))
    return checks[:MAX_SIGNALS]


def matching(index: Any, labels: Mapping[str, str]) -> list[Any]:
    """Runbooks whose front matter names the alert (and whose label matchers, if any, all match) — found
    without embedding anything. Empty when the index cannot list its runbooks."""
    books = index.runbooks() if hasattr(index, "runbooks") else []
    alert = labels.get("alertname", "")
    out = []
    for book in books:
        match = field_of(book, "match")
        alerts = field_of(match, "alerts") or ()
        matchers = field_of(match, "labels") or {}
        if alert and any(fnmatch.fnmatchcase(alert, pattern) for pattern in alerts) and all(
                key in labels and re.fullmatch(pattern, str(labels[key])) for key, pattern in matchers.items()):
            out.append(book)
    return out[:SEARCH_K]


async def run_checks(checks: list[Check], ctx: Context, baseline_at: datetime) -> list[Evidence]:
    """Run every check against Prometheus at the instant and at `baseline_at`, in parallel; each answer is an
    Evidence whose data holds both results."""

    def call(check: Check) -> Evidence:
        found = prometheus.instant_query(ctx.clients.prometheus, check.query, ctx.instant,
                                         timeout_s=ctx.settings.tool_timeout_s)
        before = prometheus.instant_query(ctx.clients.prometheus, check.query, baseline_at,
                                          timeout_s=ctx.settings.tool_timeout_s)
        data = {"runbook": check.runbook, "domain": check.domain, "signal": check.signal,
                "supports_when": check.supports_when, "weakens_when": check.weakens_when,
                "result": found.data or [], "baseline": before.data or [] if before.status != "error" else None}
        return found.model_copy(update={"tool": TOOL, "data": data, "id": found.id.replace(prometheus.TOOL, TOOL)})

    return list(await asyncio.gather(*[
        run_tool(TOOL, c.query, functools.partial(call, c), ctx.settings.tool_timeout_s) for c in checks
    ]))


def values(item: Evidence, key: str = "result") -> Iterator[tuple[dict[str, str], float]]:
    for series in (item.data or {}).get(key) or []:
        if isinstance(series, Mapping) and isinstance(series.get("value"), list | tuple):
            yield dict(series.get("metric") or {}), as_float(series["value"][1])
