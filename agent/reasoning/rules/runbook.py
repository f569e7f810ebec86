"""Runbook signals (see `agent.reasoning.runbook_signals`): a runbook's own checks, met or not.

| rule | signal | weight |
|---|---|---|
| runbook_signals | a `supports_when` condition met now, and by no series at the baseline | +1.0 |
| runbook_signals | a `weakens_when` condition met (and no support) | -0.5 |
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation, entity_of
from agent.reasoning.rules import rule
from agent.reasoning.runbook_signals import TOOL, holds, values

DOMAINS = {"infra", "model", "prompt", "provider"}
WEIGHT = 1.0
OWN_SUBJECTS = ("node", "provider", "model_version", "prompt_version")


@rule("runbook_signals")
def runbook_signals(situation: Situation) -> Iterator[Finding]:
    for item in situation.ok(TOOL):
        data = item.data or {}
        domain, book, signal = data.get("domain"), data.get("runbook", ""), data.get("signal", "")
        if domain not in DOMAINS:
            continue
        supports = data.get("supports_when", "")
        chronic = any(holds(supports, v) for _, v in values(item, "baseline"))
        series = list(values(item))
        support = [] if chronic else [(labels, v) for labels, v in series if holds(supports, v)]
        if data.get("baseline") is None:  # the baseline could not be read: a met condition may be chronic
            support = []
        if support:
            labels, value = max(support, key=lambda s: s[1])
            # only what names a cause on its own; pods and services join the hypotheses of their domain
            entity = {**{k: v for k, v in entity_of(labels).items() if k in OWN_SUBJECTS}, "runbook": book}
            yield Finding("runbook_signals", domain, f"runbook:{book}", WEIGHT, entity, (item.id,),
                          f"runbook {book}: {signal} = {value:g} ({supports}; not at the baseline)")
        elif series and any(holds(data.get("weakens_when", ""), v) for _, v in series):
            yield Finding("runbook_signals", domain, f"runbook:{book}", -0.5, {}, (item.id,),
                          f"runbook {book}: {signal} weakens it ({data.get('weakens_when')})")


