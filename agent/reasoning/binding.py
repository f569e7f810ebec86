"""An LLM's proposal may only touch what the incident is about.

The LLM reads evidence that outsiders write (alert annotations, log lines, change events), so an instruction
hidden there can steer what it proposes. Whatever it says, the proposed action's target must be the alerting
workload, or the root cause the offline reasoner found, or the LLM's own root cause when that lies in the
alert's namespace: the same namespace and service (or workload, pod, node). Anything else is refused, and the
offline proposal is used instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WORKLOAD_ACTIONS = ("k8s.rollout_restart", "k8s.scale", "k8s.rollback")
SERVICE_ACTIONS = ("provider.failover", "model.rollback", "prompt.rollback", "traffic.shed")


@dataclass(frozen=True)
class Scope:
    """One thing the incident is about: a namespace with a service or workload, and pods and nodes."""

    namespace: str
    names: frozenset[str]
    pods: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()


def scope_of(entity: Mapping[str, Any], default_namespace: str = "") -> Scope:
    names = {str(entity[k]) for k in ("service", "name", "workload", "deployment") if entity.get(k)}
    return Scope(str(entity.get("namespace") or default_namespace), frozenset(names),
                 frozenset({str(entity["pod"])} if entity.get("pod") else set()),
                 frozenset({str(entity["node"])} if entity.get("node") else set()))


def incident_scopes(labels: Mapping[str, str], offline_cause: Mapping[str, Any],
                    llm_cause: Mapping[str, Any]) -> list[Scope]:
    """What an LLM proposal may target for an incident with these alert labels and root causes."""
    home = labels.get("namespace", "")
    scopes = [scope_of(labels), scope_of(offline_cause, home)]
    llm = scope_of(llm_cause, home)
    if llm.namespace == home:
        scopes.append(llm)
    return scopes


def refusal(action: str, params: Mapping[str, Any], scopes: Iterable[Scope]) -> str:
    """Why `action` with `params` reaches outside the incident, or '' when it stays inside."""
    scopes = list(scopes)
    if action == "notify.escalate":
        return ""
    if action == "k8s.cordon":
        node = str(params.get("node", ""))
        if any(node in s.nodes for s in scopes):
            return ""
        return f"node {node!r} is not a root cause of this incident"
    namespace = str(params.get("namespace", ""))
    inside = [s for s in scopes if s.namespace and s.namespace == namespace]
    if not inside:
        known = sorted({s.namespace for s in scopes if s.namespace})
        return f"namespace {namespace!r} is not this incident's ({', '.join(known) or 'none known'})"
    if action == "k8s.delete_pod":
        pod = str(params.get("pod", ""))
        if any(pod in s.pods or any(pod.startswith(f"{n}-") for n in s.names) for s in inside):
            return ""
        return f"pod {pod!r} belongs to no workload of this incident in {namespace}"
    key = "service" if action in SERVICE_ACTIONS else "name"
    name = str(params.get(key, ""))
    if any(name in s.names for s in inside):
        return ""
    known = sorted({n for s in inside for n in s.names})
    return f"{key} {name!r} in {namespace} is not this incident's ({', '.join(known) or 'none known'})"
