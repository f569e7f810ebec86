"""What the rules see and what they say.

A `Situation` is everything the offline reasoner looks at for one incident: the incident (alerts, labels,
instant), the evidence of the read-only tools and the change timeline. A rule reads the situation and states
`Finding`s: one named observation, the domain it points to, a signed weight (positive supports a hypothesis,
negative weakens it), the entity it points at and the evidence it rests on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent.models import ChangeEvent, Domain, Evidence, Incident

ENTITY_KEYS = ("service", "namespace", "provider", "model", "model_version", "prompt_version", "node", "pod")
"""The keys a root cause may name (DESIGN.md's diagnosis contract)."""


@dataclass(frozen=True)
class Finding:
    """One observation from one rule."""

    rule: str
    """The rule that made it (a name from `agent.reasoning.rules.RULES`)."""
    domain: Domain
    kind: str
    """A short name of the failure it suggests (`oom`, `provider_outage`, `prompt_format`, ...): the runbook
    search uses it, and the hypothesis takes the kind of its strongest finding."""
    weight: float
    """Positive: evidence for; negative: evidence against. Rules keep weights within about ±3."""
    entity: dict[str, str] = field(default_factory=dict)
    """What it points at: root-cause keys (ENTITY_KEYS) plus helpers for the proposal (`prompt`,
    `prompt_version_previous`, `model_version_previous`, `kind`, `name`, ...)."""
    evidence: tuple[str, ...] = ()
    """Ids of the Evidence (or `change:<n>`) it rests on."""
    note: str = ""
    """One human sentence: what was seen."""


@dataclass(frozen=True)
class Situation:
    incident: Incident
    evidence: list[Evidence]
    changes: list[ChangeEvent]
    instant: datetime

    @property
    def onset(self) -> datetime:
        """When the trouble started: the earliest start of the incident's alerts (the instant without alerts)."""
        starts = [a.starts_at for a in self.incident.alerts]
        return min(starts) if starts else self.instant

    @property
    def labels(self) -> dict[str, str]:
        """The incident's common labels, completed from its first alert."""
        merged: dict[str, str] = {}
        for alert in self.incident.alerts[:1]:
            merged.update(alert.labels)
        merged.update(self.incident.labels)
        return merged

    @property
    def service(self) -> str:
        return self.labels.get("service", "") or self.labels.get("app", "") or self.labels.get("deployment", "")

    @property
    def namespace(self) -> str:
        return self.labels.get("namespace", "")

    def ok(self, *tools: str) -> Iterator[Evidence]:
        """Evidence that returned data, from the named tools (all tools when none are named)."""
        for item in self.evidence:
            if item.status == "ok" and (not tools or item.tool in tools):
                yield item

    def all_resolved(self) -> bool:
        alerts = self.incident.alerts
        return bool(alerts) and all(a.status == "resolved" for a in alerts)

    def before_onset(self, at: datetime) -> timedelta:
        """How long before the onset `at` lies (negative when after it)."""
        return self.onset - at


def as_float(value: Any, default: float = 0.0) -> float:
    """A number from evidence data (Prometheus gives strings); `default` for anything unreadable."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return default if number != number else number  # NaN


def entity_of(labels: dict[str, Any], *extra: str) -> dict[str, str]:
    """The root-cause keys (and `extra` keys) present in a label set, as strings."""
    keys = (*ENTITY_KEYS, *extra)
    return {k: str(labels[k]) for k in keys if labels.get(k) not in (None, "")}
