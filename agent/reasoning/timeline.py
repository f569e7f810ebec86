"""The change timeline the reasoner weighs: the `changes` tool's timeline (posted events, ReplicaSet
revisions, new model/prompt version labels) merged with the store's change events, duplicates dropped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from agent.models import ChangeEvent, Evidence

SAME_CHANGE = timedelta(minutes=10)


def from_tool(evidence: Iterable[Evidence]) -> list[ChangeEvent]:
    """ChangeEvents from the `changes` tool's data (`{"changes": [{at, kind, target, name, from, to, ...}]}`)."""
    out: list[ChangeEvent] = []
    for item in evidence:
        if item.tool != "changes" or item.status != "ok" or not isinstance(item.data, Mapping):
            continue
        for raw in item.data.get("changes") or []:
            change = _parse(raw)
            if change is not None:
                out.append(change)
    return out


def _parse(raw: Any) -> ChangeEvent | None:
    if not isinstance(raw, Mapping) or not raw.get("at") or not raw.get("kind"):
        return None
    target = str(raw.get("target") or "")
    namespace, _, service = target.rpartition("/") if "/" in target else ("", "", target)
    try:
        at = datetime.fromisoformat(str(raw["at"]).replace("Z", "+00:00"))
    except ValueError:
        return None
    extra = {"source": str(raw.get("source") or "")}
    if raw.get("detail"):
        extra["detail"] = str(raw["detail"])
    return ChangeEvent.model_validate({
        "at": at, "kind": str(raw["kind"]), "service": str(raw.get("service") or service),
        "namespace": str(raw.get("namespace") or namespace), "name": str(raw.get("name") or ""),
        "from": str(raw.get("from") or ""), "to": str(raw.get("to") or ""), "actor": str(raw.get("actor") or ""),
        "source": str(raw.get("source") or "tool"), "extra": extra,
    })


def merge(*timelines: Iterable[ChangeEvent]) -> list[ChangeEvent]:
    """One timeline, oldest first. A change listed twice (same domain, service and `to`, within SAME_CHANGE —
    e.g. posted by CI and seen as a new version label) is kept once, the copy that says the most winning."""
    kept: list[ChangeEvent] = []
    for change in (c for timeline in timelines for c in timeline):
        twin = next((i for i, other in enumerate(kept) if _same(change, other)), None)
        if twin is None:
            kept.append(change)
        elif _richness(change) > _richness(kept[twin]):
            kept[twin] = change
    return sorted(kept, key=lambda c: c.at)


def _richness(c: ChangeEvent) -> int:
    return sum(bool(v) for v in (c.name, c.from_, c.service, c.namespace, c.actor)) + (c.source == "api")


def _same(a: ChangeEvent, b: ChangeEvent) -> bool:
    from agent.reasoning.rules.changes import domain_of

    same_service = not a.service or not b.service or a.service == b.service
    return (domain_of(a) == domain_of(b) and a.to == b.to and same_service
            and abs(a.at - b.at) <= SAME_CHANGE)
