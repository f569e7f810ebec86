"""Runbook signals (see `agent.reasoning.runbook_signals`): a runbook's own checks, met or not.

| rule | signal | weight |
|---|---|---|
| runbook_signals | a `supports_when` condition met by a series | +1.5 for the runbook's domain |
| runbook_signals | a `weakens_when` condition met (and no support) | -0.5 |
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation, entity_of
from agent.reasoning.rules import rule
from agent.reasoning.runbook_signals import TOOL, holds, values

DOMAINS = {"infra", "model", "prompt", "provider"}


@rule("runbook_signals")
def runbook_signals(situation: Situation) -> Iterator[Finding]:
    for item in situation.ok(TOOL):
        data = item.data or {}
        domain, book, signal = data.get("domain"), data.get("runbook", ""), data.get("signal", "")
        if domain not in DOMAINS:
            continue
        series = list(values(item))
        support = [(labels, v) for labels, v in series if holds(data.get("supports_when", ""), v)]
        if support:
            labels, value = max(support, key=lambda s: s[1])
            entity = {"service": situation.service, "namespace": situation.namespace, **entity_of(labels),
                      "runbook": book}
            yield Finding("runbook_signals", domain, f"runbook:{book}", 1.5, {k: v for k, v in entity.items() if v},
                          (item.id,), f"runbook {book}: {signal} = {value:g} ({data.get('supports_when')})")
        elif series and any(holds(data.get("weakens_when", ""), v) for _, v in series):
            yield Finding("runbook_signals", domain, f"runbook:{book}", -0.5, {}, (item.id,),
                          f"runbook {book}: {signal} weakens it ({data.get('weakens_when')})")
