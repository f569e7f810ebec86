"""Facts about the root cause that a runbook's remediation templates may use, beyond the root-cause entity
(see tools.runbooks.model.REMEDIATION_PLACEHOLDERS): the workload's kind and name, a replica target the
evidence supports, a request rate to shed to, the revision to roll back to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.reasoning.findings import Situation
from agent.reasoning.readings import readings

SATURATION = {"kv_cache_saturation", "queue_saturation", "cpu_throttling", "replicas_missing"}
"""Hypothesis kinds where more replicas is the evidence-backed answer."""


def workload_facts(situation: Situation) -> dict[str, Any]:
    """Kind, name, namespace and replica counts of the alert's workload (Kubernetes tools or metrics)."""
    facts: dict[str, Any] = {}
    for item in situation.ok("kubernetes.workload"):
        data = item.data if isinstance(item.data, Mapping) else {}
        if data.get("name"):
            facts |= {"kind": data.get("kind") or "Deployment", "name": data["name"],
                      "namespace": data.get("namespace") or situation.namespace}
            desired = (data.get("replicas") or {}).get("desired")
            if isinstance(desired, int):
                facts["replicas_current"] = desired
            break
    if "replicas_current" not in facts:
        for r in readings(situation, "kube_deployment_spec_replicas"):
            if r.labels.get("deployment") in (situation.service, facts.get("name")):
                facts["replicas_current"] = int(r.value)
                facts.setdefault("kind", "Deployment")
                facts.setdefault("name", r.labels["deployment"])
    for item in situation.ok("kubernetes.rollouts"):
        data = item.data if isinstance(item.data, Mapping) else {}
        revisions = [r.get("revision") for r in data.get("revisions") or [] if isinstance(r, Mapping)]
        if data.get("current_revision") is not None:
            facts["revision"] = data["current_revision"]
        older = [r for r in revisions if isinstance(r, int) and r != data.get("current_revision")]
        if older:
            facts["revision_previous"] = max(older)
    return facts


def derived_facts(situation: Situation, kind: str) -> dict[str, Any]:
    """Numbers a remediation may need, when the evidence supports them (absent otherwise)."""
    facts = workload_facts(situation)
    replicas = facts.get("replicas_current")
    if kind in SATURATION and isinstance(replicas, int) and replicas > 0:
        facts["replicas_target"] = replicas + max(1, replicas // 2)
    baseline = sum(r.baseline or 0.0 for r in readings(situation, "llm_requests_total")
                   if r.labels.get("status", "ok") == "ok")
    if baseline > 0:
        facts["rate_limit_rps"] = round(baseline * 1.2, 2)
    return facts
