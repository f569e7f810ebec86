"""Root cause through the service graph: a symptom on the alerting service, its cause a call or two down.

Reads the `dependencies` evidence (tools/dependencies.py): the alerting service, what it calls, and each one's
latency and error ratio scored against its own baseline.

| rule | signal | weight |
|---|---|---|
| own_symptom | the alerting service's own latency or error ratio is a new anomaly (rising) | infra symptom +1.0 |
| dependency_cause | a dependency's same signal rose no later than the symptom, along anomalous callers | infra +2.5 |

The walk: from the alerting service, for the signal that rose on it, follow callees whose same signal also rose
(a new, non-chronic, upward anomaly) and began no later than the symptom (within one rate window: both are read
through a `[5m]` rate). The deepest such service along a chain of anomalous callers is the cause — the
service whose own change began first and explains what its callers show. Among several at the same depth the
earliest onset wins, then the strongest score. Its hypothesis competes with the others like any; the alerting
service's own symptom folds into it (the symptom cascade). When the anomaly is already over by the instant,
the note says the fault was transient.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.rules import rule
from tools.dependencies import TOOL

SIGNALS = {"latency": "dependency_slow", "errors": "dependency_failing"}
WHAT = {"latency": "latency", "errors": "error ratio"}
SLACK_S = 300.0
"""A dependency's onset may trail the symptom's by up to one rate window (5 minutes): both are read through a
`[5m]` rate, and where a series crosses the anomaly threshold inside that window depends on its own spread."""


def _rising(score: Any) -> bool:
    return isinstance(score, dict) and bool(score.get("anomalous")) and score.get("direction") == "up" \
        and not score.get("chronic")


def _onset(score: dict[str, Any]) -> float:
    raw = score.get("onset")
    return datetime.fromisoformat(raw).timestamp() if isinstance(raw, str) else float("inf")


def _walks(situation: Situation) -> Iterator[tuple[str, dict[str, Any]]]:
    for item in situation.ok(TOOL):
        data = item.data or {}
        if isinstance(data.get("services"), dict):
            yield item.id, data


@rule("own_symptom")
def own_symptom(situation: Situation) -> Iterator[Finding]:
    """The alerting service's own latency or errors rose: a symptom (it says something is wrong, not what)."""
    for eid, data in _walks(situation):
        own = data["services"].get(data.get("service"), {})
        for signal in SIGNALS:
            if _rising(own.get(signal)):
                service = data.get("service", "")
                entity = {"service": service, "namespace": data.get("namespace", "")}
                yield Finding("own_symptom", "infra", "symptom", 1.0, {k: v for k, v in entity.items() if v},
                              (eid,), f"{service}'s own {WHAT[signal]} rose")
                return


def cause_along(services: dict[str, Any], root: str, signal: str) -> tuple[str, dict[str, Any]] | None:
    """The deepest service below `root` whose `signal` rose no later than root's, reached through callers whose
    signal rose too; None when no dependency's did."""
    symptom = services.get(root, {}).get(signal)
    if not _rising(symptom):
        return None
    limit = _onset(symptom) + SLACK_S
    explained: dict[str, bool] = {root: True}
    best: tuple[tuple[float, float, float], str] | None = None
    for name, entry in sorted(services.items(), key=lambda kv: kv[1].get("depth", 0)):
        if name == root:
            continue
        score = entry.get(signal)
        ok = explained.get(entry.get("via", ""), False) and _rising(score) and _onset(score) <= limit
        explained[name] = ok
        if ok:
            rank = (float(entry.get("depth", 0)), -_onset(score), abs(float(score.get("score") or 0)))
            if best is None or rank > best[0]:
                best = (rank, name)
    return (best[1], services[best[1]]) if best else None


@rule("dependency_cause")
def dependency_cause(situation: Situation) -> Iterator[Finding]:
    for eid, data in _walks(situation):
        root = data.get("service", "")
        for signal, kind in SIGNALS.items():
            found = cause_along(data["services"], root, signal)
            if found is None:
                continue
            name, entry = found
            score = entry[signal]
            over = " — over by the instant: a transient fault" if score.get("ended") else ""
            note = (f"{name}'s {WHAT[signal]} rose from {score.get('onset', '?')}, no later than {root}'s, "
                    f"{entry.get('depth')} call(s) down{over}")
            entity = {"service": name, "namespace": data.get("namespace", "") or situation.namespace,
                      "kind": "Deployment", "name": name}
            yield Finding("dependency_cause", "infra", kind, 2.5, {k: v for k, v in entity.items() if v},
                          (eid,), note)
            return
