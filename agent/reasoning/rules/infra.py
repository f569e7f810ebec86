"""Infra rules: the pods, nodes, GPUs and model servers under a service (kube-state-metrics, cAdvisor, DCGM,
vLLM names of DESIGN.md section 4).

| rule | signal | weight |
|---|---|---|
| oom_killed | last terminated reason OOMKilled | 2.5 |
| crash_loop | waiting reason CrashLoopBackOff | 2.0 |
| bad_rollout | waiting reason ImagePullBackOff / ErrImagePull / CreateContainerConfigError | 2.5 |
| restarts | container restarts in the window (a hint: one restart is not an incident) | 0.75 |
| replicas_missing | available replicas below spec | 1.0 |
| node_pressure | node condition Memory/Disk/PID pressure true, or Ready not true | 3.0 |
| cpu_throttling | throttled CFS periods above 25 % (and doubled against the baseline) | 2.0 |
| gpu_fault | XID errors, or GPU framebuffer above 95 % full | 2.5 |
| model_server_saturation | vLLM KV cache above 90 % or a request queue | 2.0 |
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import Reading, readings
from agent.reasoning.rules import rule

BAD_ROLLOUT_REASONS = {"ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"}
PRESSURE = {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}


def workload(reading: Reading, situation: Situation) -> dict[str, str]:
    """The workload a pod-level reading belongs to: service from its labels, else from the pod name."""
    labels = reading.labels
    service = labels.get("service") or labels.get("app") or labels.get("deployment") or labels.get("container", "")
    pod = labels.get("pod", "")
    if situation.service and pod.startswith(f"{situation.service}-"):
        service = situation.service
    elif pod and not labels.get("service"):
        service = pod.rsplit("-", 2)[0] if pod.count("-") >= 2 else pod
    out = {"service": service, "namespace": labels.get("namespace", situation.namespace), "pod": pod,
           "kind": "Deployment", "name": service, "on_node": labels.get("node", "")}
    return {k: v for k, v in out.items() if v}


def _per_pod(situation: Situation, name: str, reasons: set[str], rule_name: str, kind: str, weight: float,
             what: str) -> Iterator[Finding]:
    for r in readings(situation, name):
        if r.labels.get("reason") in reasons and r.value > 0:
            ent = workload(r, situation)
            yield Finding(rule_name, "infra", kind, weight, ent, (r.evidence,),
                          f"{ent.get('pod') or ent.get('service', 'a pod')} {what} ({r.labels['reason']})")


@rule("oom_killed")
def oom_killed(situation: Situation) -> Iterator[Finding]:
    yield from _per_pod(situation, "kube_pod_container_status_last_terminated_reason", {"OOMKilled"},
                        "oom_killed", "oom", 2.5, "was killed for memory")


@rule("crash_loop")
def crash_loop(situation: Situation) -> Iterator[Finding]:
    yield from _per_pod(situation, "kube_pod_container_status_waiting_reason", {"CrashLoopBackOff"},
                        "crash_loop", "crash_loop", 2.0, "is crash looping")


@rule("bad_rollout")
def bad_rollout(situation: Situation) -> Iterator[Finding]:
    yield from _per_pod(situation, "kube_pod_container_status_waiting_reason", BAD_ROLLOUT_REASONS,
                        "bad_rollout", "failed_rollout", 2.5, "cannot start")


@rule("restarts")
def restarts(situation: Situation) -> Iterator[Finding]:
    """Restarts in the window (the catalog's `restarts` is the increase), more than in the baseline window."""
    for r in readings(situation, "kube_pod_container_status_restarts_total", "restarts", "pod_restarts"):
        if r.value >= 1 and (r.baseline is None or r.value > r.baseline):
            ent = workload(r, situation)
            yield Finding("restarts", "infra", "restarts", 0.75, ent, (r.evidence,),
                          f"{ent.get('pod') or ent.get('service', 'a pod')} restarted {r.value:g} times")


@rule("replicas_missing")
def replicas_missing(situation: Situation) -> Iterator[Finding]:
    spec = {(r.labels.get("namespace"), r.labels.get("deployment")): r.value
            for r in readings(situation, "kube_deployment_spec_replicas")}
    for r in readings(situation, "kube_deployment_status_replicas_available"):
        want = spec.get((r.labels.get("namespace"), r.labels.get("deployment")))
        if want is not None and r.value < want:
            dep = r.labels.get("deployment", "")
            ent = {"service": dep, "namespace": r.labels.get("namespace", ""), "kind": "Deployment", "name": dep}
            yield Finding("replicas_missing", "infra", "replicas_missing", 1.0, ent, (r.evidence,),
                          f"deployment {dep} has {r.value:g} of {want:g} replicas available")


@rule("node_pressure")
def node_pressure(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "kube_node_status_condition"):
        cond, status, node = r.labels.get("condition"), r.labels.get("status", "").lower(), r.labels.get("node", "")
        bad = (cond in PRESSURE and status == "true") or (cond == "Ready" and status in ("false", "unknown"))
        if bad and r.value > 0 and node:
            yield Finding("node_pressure", "infra", "node_pressure", 3.0, {"node": node}, (r.evidence,),
                          f"node {node} reports {cond}={status}")


@rule("cpu_throttling")
def cpu_throttling(situation: Situation) -> Iterator[Finding]:
    periods = {_pod_key(r): r.value for r in readings(situation, "container_cpu_cfs_periods_total")}
    for r in readings(situation, "container_cpu_cfs_throttled_periods_total"):
        total = periods.get(_pod_key(r))
        if total and r.value / total > 0.25:
            ent = workload(r, situation)
            yield Finding("cpu_throttling", "infra", "cpu_throttling", 2.0, ent, (r.evidence,),
                          f"{ent.get('pod', 'a pod')} throttled in {r.value / total:.0%} of CPU periods")
    for r in readings(situation, "cpu_throttle_ratio", "cpu_throttling"):
        if r.value > 0.25 and (r.baseline is None or r.value > 2 * r.baseline):
            ent = workload(r, situation)
            yield Finding("cpu_throttling", "infra", "cpu_throttling", 2.0, ent, (r.evidence,),
                          f"{ent.get('service', 'a workload')} throttled in {r.value:.0%} of CPU periods")


def _pod_key(r: Reading) -> tuple[str, str, str]:
    return r.labels.get("namespace", ""), r.labels.get("pod", ""), r.labels.get("container", "")


@rule("gpu_fault")
def gpu_fault(situation: Situation) -> Iterator[Finding]:
    free = {(r.labels.get("Hostname"), r.labels.get("gpu")): r.value
            for r in readings(situation, "DCGM_FI_DEV_FB_FREE")}
    for r in readings(situation, "DCGM_FI_DEV_XID_ERRORS"):
        if r.value > 0:
            yield Finding("gpu_fault", "infra", "gpu_xid", 2.5, _gpu_entity(r, situation), (r.evidence,),
                          f"GPU {r.labels.get('gpu', '?')} on {r.labels.get('Hostname', '?')} raised XID {r.value:g}")
    for r in readings(situation, "DCGM_FI_DEV_FB_USED"):
        left = free.get((r.labels.get("Hostname"), r.labels.get("gpu")))
        if left is not None and r.value + left > 0 and r.value / (r.value + left) > 0.95:
            ent = {k: v for k, v in _gpu_entity(r, situation).items() if k != "node"}  # memory is the workload's
            yield Finding("gpu_fault", "infra", "gpu_memory", 2.5, ent, (r.evidence,),
                          f"GPU memory {r.value / (r.value + left):.0%} full on {r.labels.get('Hostname', '?')}")


def _gpu_entity(r: Reading, situation: Situation) -> dict[str, str]:
    ent = workload(r, situation) if r.labels.get("pod") else {"service": situation.service,
                                                              "namespace": situation.namespace}
    host = r.labels.get("Hostname") or r.labels.get("node") or ""
    return {k: v for k, v in {**ent, "node": host, "on_node": host, "kind": "Deployment",
                               "name": ent.get("service", "")}.items() if v}


@rule("model_server_saturation")
def model_server_saturation(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"):
        if r.value > 0.9:
            ent = workload(r, situation)
            yield Finding("model_server_saturation", "infra", "kv_cache_saturation", 2.0, ent, (r.evidence,),
                          f"vLLM KV cache {r.value:.0%} used on {ent.get('service', 'the model server')}")
    for r in readings(situation, "vllm:num_requests_waiting"):
        if r.value >= 10 and (r.baseline is None or r.rise >= 3):
            ent = workload(r, situation)
            yield Finding("model_server_saturation", "infra", "queue_saturation", 1.5, ent, (r.evidence,),
                          f"{r.value:g} requests waiting in the vLLM queue of {ent.get('service', 'the server')}")
