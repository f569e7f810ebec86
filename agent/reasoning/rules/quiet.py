"""Evidence that there is no fault: the `none` domain."""

from __future__ import annotations

from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.rules import rule


@rule("alert_resolved")
def alert_resolved(situation: Situation) -> Iterator[Finding]:
    """Every alert of the incident has resolved: the trouble did not last."""
    if situation.all_resolved():
        yield Finding("alert_resolved", "none", "resolved", 2.0, note="every alert of the incident has resolved")
