"""Kubernetes rules over the Kubernetes tools' objects (pods, nodes, the workload), next to the metric rules in
`infra.py`. They share rule names with those, so a fact seen both as a metric and as an object counts once.

| rule | signal | weight |
|---|---|---|
| oom_killed | a container's last termination OOMKilled (within WINDOW of the instant, if dated) | 2.5 |
| crash_loop | a container waiting in CrashLoopBackOff | 2.0 |
| bad_rollout | a container waiting in ImagePullBackOff / ErrImagePull / CreateContainerConfigError | 2.5 |
| restarts | a container that restarted, last terminated within WINDOW | 0.75 |
| pod_stuck | a pod Running for over STUCK whose running container is not ready, or failing probes 3+ times | 2.0 |
| node_pressure | a node not Ready or under Memory/Disk/PID pressure | 3.0 |
| replicas_missing | the workload has fewer available replicas than desired | 1.0 |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.rules import rule
from agent.reasoning.rules.infra import BAD_ROLLOUT_REASONS

WINDOW = timedelta(hours=2)
STUCK = timedelta(minutes=10)


def _recent(situation: Situation, when: Any, window: timedelta = WINDOW) -> bool:
    if not when:
        return True
    try:
        at = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        return True
    return situation.instant - at <= window


def _workload(situation: Situation) -> dict[str, str]:
    for item in situation.ok("kubernetes.workload"):
        if isinstance(item.data, Mapping) and item.data.get("name"):
            return {"service": situation.service or str(item.data["name"]),
                    "namespace": str(item.data.get("namespace") or situation.namespace),
                    "kind": str(item.data.get("kind") or "Deployment"), "name": str(item.data["name"])}
    return {"service": situation.service, "namespace": situation.namespace, "kind": "Deployment",
            "name": situation.service}


def _pods(situation: Situation) -> Iterator[tuple[Mapping[str, Any], str]]:
    for item in situation.ok("kubernetes.pods"):
        for pod in (item.data or {}).get("pods") or []:
            if isinstance(pod, Mapping):
                yield pod, item.id


@rule("kube_pods")
def kube_pods(situation: Situation) -> Iterator[Finding]:
    base = _workload(situation)
    for pod, eid in _pods(situation):
        ent = {**base, "pod": str(pod.get("name", "")), "on_node": str(pod.get("node") or "")}
        ent = {k: v for k, v in ent.items() if v}
        name = ent.get("pod", "a pod")
        for c in pod.get("containers") or []:
            reason, last = c.get("reason") or "", c.get("last_termination") or {}
            if last.get("reason") == "OOMKilled" and _recent(situation, last.get("finished_at")):
                yield Finding("oom_killed", "infra", "oom", 2.5, ent, (eid,), f"{name} was killed for memory")
            if reason == "CrashLoopBackOff":
                yield Finding("crash_loop", "infra", "crash_loop", 2.0, ent, (eid,), f"{name} is crash looping")
            if reason in BAD_ROLLOUT_REASONS:
                yield Finding("bad_rollout", "infra", "failed_rollout", 2.5, ent, (eid,),
                              f"{name} cannot start ({reason})")
            if (pod.get("phase") == "Running" and pod.get("ready") is False and c.get("ready") is False
                    and c.get("state") == "running" and not _recent(situation, pod.get("started"), STUCK)):
                yield Finding("pod_stuck", "infra", "pod_stuck", 2.0, ent, (eid,),
                              f"{name} has been running but not ready for a while")
            if int(c.get("restarts") or 0) > 0 and last and _recent(situation, last.get("finished_at")):
                yield Finding("restarts", "infra", "restarts", 0.75, ent, (eid,),
                              f"{name} restarted {c.get('restarts')} times (last: {last.get('reason') or '?'})")


@rule("kube_nodes")
def kube_nodes(situation: Situation) -> Iterator[Finding]:
    for item in situation.ok("kubernetes.nodes"):
        for node in (item.data or {}).get("nodes") or []:
            if not isinstance(node, Mapping) or not node.get("name"):
                continue
            problems = [p for p in node.get("problems") or [] if isinstance(p, Mapping)]
            bad = [p for p in problems if (str(p.get("type", "")).endswith("Pressure") and p.get("status") == "True")
                   or (p.get("type") == "Ready" and p.get("status") != "True")]
            if bad or node.get("ready") is False:
                what = ", ".join(f"{p.get('type')}={p.get('status')}" for p in bad) or "NotReady"
                yield Finding("node_pressure", "infra", "node_pressure", 3.0, {"node": str(node["name"])}, (item.id,),
                              f"node {node['name']} reports {what}")


@rule("kube_workload")
def kube_workload(situation: Situation) -> Iterator[Finding]:
    for item in situation.ok("kubernetes.workload"):
        data = item.data or {}
        replicas = data.get("replicas") or {}
        desired, available = replicas.get("desired"), replicas.get("available")
        if isinstance(desired, int) and isinstance(available, int) and available < desired:
            yield Finding("replicas_missing", "infra", "replicas_missing", 1.0, _workload(situation), (item.id,),
                          f"{data.get('kind', 'workload')} {data.get('name')} has {available} of {desired} "
                          "replicas available")


@rule("pod_unhealthy")
def pod_unhealthy(situation: Situation) -> Iterator[Finding]:
    """One pod keeps failing its probes (Warning events `Unhealthy`, 3 or more) — stuck while its siblings serve."""
    for item in situation.ok("kubernetes.events"):
        for event in (item.data or {}).get("events") or []:
            if not isinstance(event, Mapping) or event.get("type") != "Warning" or event.get("reason") != "Unhealthy":
                continue
            kind, _, pod = str(event.get("object", "")).partition("/")
            if kind == "Pod" and pod and int(event.get("count") or 1) >= 3:
                ent = {**_workload(situation), "pod": pod}
                note = f"{pod} keeps failing its probes ({event.get('count')}x: {str(event.get('message', ''))[:80]})"
                yield Finding("pod_stuck", "infra", "pod_stuck", 2.0, {k: v for k, v in ent.items() if v}, (item.id,),
                              note)
