"""Evidence that there is no fault: the `none` domain, and what weakens a fault hypothesis.

| rule | signal | weight |
|---|---|---|
| alert_resolved | every alert of the incident has resolved | none +2.0 |
| alert_condition_clear | the alert's own expression returns nothing at the instant | none +1.0 |
| rollout_healthy | a recent deploy whose Deployment has all replicas available | none +1.0, infra -1.0 |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import readings
from agent.reasoning.rules import rule
from agent.reasoning.rules.changes import domain_of, recency
from tools.investigation import alert_expression


@rule("alert_resolved")
def alert_resolved(situation: Situation) -> Iterator[Finding]:
    """Every alert of the incident has resolved: the trouble did not last."""
    if situation.all_resolved():
        yield Finding("alert_resolved", "none", "resolved", 2.0, note="every alert of the incident has resolved")


@rule("alert_condition_clear")
def alert_condition_clear(situation: Situation) -> Iterator[Finding]:
    """The expression behind the alert no longer returns anything at the investigation instant."""
    exprs = {alert_expression(a.generator_url) for a in situation.incident.alerts} - {""}
    for item in situation.evidence:
        if item.status == "no_data" and any(item.query.startswith(expr) for expr in exprs):
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
