"""The change timeline: a change shortly before the onset is strong evidence for its domain.

prompt change → prompt; model or model-version change → model; deploy, rollout, image or config change →
infra; provider or route change → provider. The weight falls with the gap to the onset (full within
RECENT, nothing past WINDOW) and with distance from the alerting service (a change to another service counts a
third). Changes after the onset explain nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from agent.models import ChangeEvent, Domain
from agent.reasoning.findings import Finding, Situation
from agent.reasoning.rules import rule

RECENT = timedelta(minutes=60)
WINDOW = timedelta(hours=4)
WEIGHT = 1.5
SLACK = timedelta(minutes=2)
"""A change logged up to this long after the onset still counts (clocks and pipelines lag)."""

KIND_DOMAIN: dict[str, Domain] = {
    "prompt": "prompt", "prompt_version": "prompt",
    "model": "model", "model_version": "model",
    "deploy": "infra", "deployment": "infra", "rollout": "infra", "image": "infra", "config": "infra",
    "scale": "infra", "infra": "infra", "node": "infra",
    "provider": "provider", "route": "provider", "routing": "provider",
}


def domain_of(change: ChangeEvent) -> Domain | None:
    return KIND_DOMAIN.get(change.kind.lower().replace("-", "_"))


def recency(gap: timedelta) -> float:
    """1 within RECENT of the onset, falling linearly to 0 at WINDOW."""
    if gap <= RECENT:
        return 1.0
    if gap >= WINDOW:
        return 0.0
    return 1.0 - (gap - RECENT) / (WINDOW - RECENT)


def change_ref(situation: Situation, change: ChangeEvent) -> str:
    return f"change:{situation.changes.index(change)}:{change.kind}:{change.to or change.name}"


def entity(change: ChangeEvent, domain: Domain, situation: Situation) -> dict[str, str]:
    base = {"service": change.service or situation.service, "namespace": change.namespace or situation.namespace}
    if domain == "prompt":
        base |= {"prompt": change.name, "prompt_version": change.to, "prompt_version_previous": change.from_}
    elif domain == "model":
        base |= {"model_version": change.to, "model_version_previous": change.from_}
        if change.name:
            base["model"] = change.name
    elif domain == "infra":
        base |= {"kind": str(change.extra.get("kind", "Deployment")), "name": change.name or base["service"],
                 "image": change.to, "image_previous": change.from_}
    elif domain == "provider":
        base |= {"provider": change.to, "provider_previous": change.from_}
    return {k: v for k, v in base.items() if v}


@rule("recent_change")
def recent_change(situation: Situation) -> Iterator[Finding]:
    """A change shortly before the onset, weighted by recency and by closeness to the alerting service."""
    for change in situation.changes:
        domain = domain_of(change)
        gap = situation.before_onset(change.at)
        if domain is None or gap < -SLACK:
            continue
        weight = WEIGHT * recency(max(gap, timedelta(0)))
        if situation.service and change.service and change.service != situation.service:
            weight /= 3
        if weight <= 0.05:
            continue
        minutes = int(gap.total_seconds() // 60)
        what = f"{change.kind} change {change.from_ or '?'} → {change.to or '?'}"
        yield Finding(
            "recent_change", domain, f"{domain}_change", round(weight, 3), entity(change, domain, situation),
            (change_ref(situation, change),),
            f"{what} on {change.service or change.name or 'an unnamed target'} {minutes} min before the onset",
        )
