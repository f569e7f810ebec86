"""Evidence that there is no fault: the `none` domain, and what weakens a fault hypothesis.

| rule | signal | weight |
|---|---|---|
| alert_resolved | every alert of the incident has resolved | none +2.0 |
| alert_condition_clear | the alert's own expression returns nothing at the instant, nor within its `for` | none +1.0 |
| alert_holds | the alert's own expression holds now or within its `for`, and is new | none -2.0, symptom +1.0 |
| alert_chronic | the condition held at half or more of the hour before the episode | none +1.0 |
| rollout_healthy | a recent deploy whose Deployment has all replicas available | none +1.0, infra -1.0 |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from agent.models import Evidence
from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import readings
from agent.reasoning.rules import rule
from agent.reasoning.rules.changes import domain_of, recency
from tools import alert_window
from tools.investigation import alert_expression


@rule("alert_resolved")
def alert_resolved(situation: Situation) -> Iterator[Finding]:
    """Every alert of the incident has resolved: the trouble did not last."""
    if situation.all_resolved():
        yield Finding("alert_resolved", "none", "resolved", 2.0, note="every alert of the incident has resolved")


CHRONIC_SHARE = 0.5
"""A condition that held at this share of the hour before its episode describes the usual state."""


def alert_windows(situation: Situation) -> list[Evidence]:
    """The alert_window evidence (tools/alert_window.py) that answered."""
    return [e for e in situation.evidence if e.tool == alert_window.TOOL and e.status in ("ok", "no_data")]


def _holding(item: Evidence) -> bool:
    """The condition holds now or within its `for` — and, for a long-range condition, the event it counts is
    still going on (a `[1h]` increase keeps holding for an hour after a single restart)."""
    data = item.data or {}
    if data.get("recent_holds") is False:
        return False
    return item.status == "ok" and bool(data.get("holds_now") or data.get("held_in_for"))


def _ended(item: Evidence) -> bool:
    return item.status == "ok" and (item.data or {}).get("recent_holds") is False


def _chronic(item: Evidence) -> bool:
    share = (item.data or {}).get("baseline_share")
    return _holding(item) and share is not None and share >= CHRONIC_SHARE


@rule("alert_holds")
def alert_holds(situation: Situation) -> Iterator[Finding]:
    """The alert's own condition still holds (at the instant or within its `for`), and it did not before:
    a current symptom on the alerting service. It rules out `none` and states the symptom; the cause is for
    the other rules to find (the symptom cascade folds it into the cause they name)."""
    if situation.all_resolved():
        return
    for item in alert_windows(situation):
        if _holding(item) and not _chronic(item):
            note = "the alert's own condition still holds" + (
                "" if (item.data or {}).get("holds_now") else " within its for window")
            yield Finding("alert_holds", "none", "symptom", -2.0, evidence=(item.id,), note=note)
            entity = {"service": situation.service, "namespace": situation.namespace}
            yield Finding("alert_holds", "infra", "symptom", 1.0, {k: v for k, v in entity.items() if v},
                          (item.id,), f"{situation.service or 'the alerting service'}: {note}")
            return


@rule("alert_chronic")
def alert_chronic(situation: Situation) -> Iterator[Finding]:
    """The alert's condition held most of the hour before its episode: what it reports is the usual state."""
    for item in alert_windows(situation):
        if _chronic(item):
            share = (item.data or {})["baseline_share"]
            yield Finding("alert_chronic", "none", "chronic", 1.0, evidence=(item.id,),
                          note=f"the alert's condition already held at {share:.0%} of the hour before it fired")
            return


@rule("alert_condition_clear")
def alert_condition_clear(situation: Situation) -> Iterator[Finding]:
    """The expression behind the alert no longer returns anything at the investigation instant (nor within
    its `for` window, where the alert window says so)."""
    windows = alert_windows(situation)
    if any(_holding(item) for item in windows):
        return
    ended = next((w for w in windows if _ended(w)), None)
    if ended is not None:
        yield Finding("alert_condition_clear", "none", "condition_clear", 1.0, evidence=(ended.id,),
                      note="the alert's condition holds only through its long range: the event it counts is over")
        return
    if windows:  # read over the window, and not holding now nor within its for
        yield Finding("alert_condition_clear", "none", "condition_clear", 1.0, evidence=(windows[0].id,),
                      note="the alert's own condition no longer holds at the instant")
        return
    exprs = {alert_expression(a.generator_url) for a in situation.incident.alerts} - {""}
    for item in situation.evidence:
        if item.status == "no_data" and item.tool == "prometheus" and any(item.query.startswith(e) for e in exprs):
            yield Finding("alert_condition_clear", "none", "condition_clear", 1.0, evidence=(item.id,),
                          note="the alert's own condition no longer holds at the instant")
            return


@rule("rollout_healthy")
def rollout_healthy(situation: Situation) -> Iterator[Finding]:
    """A deploy shortly before the onset whose Deployment reports every replica available."""
    spec = {(r.labels.get("namespace"), r.labels.get("deployment")): r.value
            for r in readings(situation, "kube_deployment_spec_replicas")}
    available = {(r.labels.get("namespace"), r.labels.get("deployment")): r
                 for r in readings(situation, "kube_deployment_status_replicas_available")}
    for change in situation.changes:
        if domain_of(change) != "infra" or recency(max(situation.before_onset(change.at), timedelta(0))) <= 0:
            continue
        key = (change.namespace or situation.namespace, change.name or change.service)
        reading = available.get(key)
        if reading is not None and key in spec and reading.value >= spec[key] > 0:
            entity = {"service": change.service or key[1], "namespace": key[0] or ""}
            note = f"deployment {key[1]} rolled out with all {spec[key]:g} replicas available"
            yield Finding("rollout_healthy", "none", "rollout_ok", 1.0, evidence=(reading.evidence,), note=note)
            yield Finding("rollout_healthy", "infra", "rollout_ok", -1.0, entity, (reading.evidence,), note)
