# ruff: noqa: E501
"""Service-level emitters for evals/generate.py: an LLM application's metrics (DESIGN.md section 4's
conventions), a Kubernetes workload's metrics and objects, a vLLM model server, GPUs, nodes, a LiteLLM gateway.

Each takes a `Builder` and a timeline: `params(i)` gives the state of minute i (0 = -2h30m, 150 = 0s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from scenario_kit import STEPS, Builder, at, lognormal_cdf, suffix

PRICES = {  # USD per 1k input, output tokens
    "gpt-4.1": (0.002, 0.008), "gpt-4.1-mini": (0.0004, 0.0016), "gpt-4o": (0.0025, 0.01), "o3": (0.002, 0.008),
    "claude-sonnet-4": (0.003, 0.015), "claude-sonnet-4-5": (0.003, 0.015), "claude-3-5-haiku": (0.0008, 0.004),
    "command-r-plus": (0.0025, 0.01), "embed-v4": (0.0001, 0.0), "mistral-large": (0.002, 0.006),
    "mistral-small": (0.0002, 0.0006), "llama-3.1-8b-instruct": (0.0, 0.0), "text-embedding-3-small": (0.00002, 0.0),
}

DEFAULTS: dict[str, Any] = {
    "rpm": 120.0, "error": 0.004, "rate_limited": 0.0, "timeout": 0.001, "refused": 0.003, "p50": 1.2,
    "tin": 900.0, "tout": 220.0, "vf": 0.002, "vf_reason": "invalid_json", "evals": {"relevance": 0.86},
    "neg": 0.06, "gb": 0.2, "guardrail": "pii_output", "http_extra_err": 0.001,
}

Params = Callable[[int], dict[str, Any]]


def timeline(base: dict[str, Any], *phases: tuple[int, dict[str, Any]]) -> Params:
    """Minute i's params: `base` over DEFAULTS, then every phase whose start step is <= i, in order."""
    merged = {**DEFAULTS, **base}

    def params(i: int) -> dict[str, Any]:
        out = dict(merged)
        for start, change in phases:
            if i >= start:
                out.update(change)
        return out

    return params


def wobble(i: int, seed: int = 0, amplitude: float = 0.03) -> float:
    """Kept flat (1.0): steady rates keep the notation readable (`0+50x109 5450+41x40`), so a reader sees the
    story in the file. Change it here to add jitter."""
    return 1.0


class _Acc:
    """Per-series increments or values per minute, materialised into counters or gauges."""

    def __init__(self) -> None:
        self.incs: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = defaultdict(dict)
        self.vals: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = defaultdict(dict)

    def inc(self, metric: str, labels: dict[str, str], i: int, amount: float) -> None:
        key = (metric, tuple(labels.items()))
        self.incs[key][i] = self.incs[key].get(i, 0.0) + amount

    def set(self, metric: str, labels: dict[str, str], i: int, value: float) -> None:
        self.vals[(metric, tuple(labels.items()))][i] = value

    def emit(self, b: Builder) -> None:
        for (metric, labels), incs in self.incs.items():
            first = min(incs)
            b.counter(metric, dict(labels), lambda i, incs=incs, first=first: None if i < first else incs.get(i, 0.0))
        for (metric, labels), vals in self.vals.items():
            b.gauge(metric, dict(labels), lambda i, vals=vals: vals.get(i))


def llm_app(b: Builder, service: str, namespace: str, params: Params, seed: int = 0) -> None:
    """llm_* series and http_requests_total for one service calling models."""
    acc = _Acc()
    hist_rpm: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    hist_p50: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for i in range(STEPS):
        p = params(i)
        rpm = p["rpm"] * wobble(i, seed)
        base = {"service": service, "namespace": namespace}
        ident = {"provider": p["provider"], "model": p["model"], "model_version": p["mver"],
                 "prompt_version": p["pver"]}
        shares = {s: p[s] for s in ("error", "rate_limited", "timeout", "refused")}
        shares["ok"] = max(0.0, 1 - sum(shares.values()))
        for status, share in shares.items():
            if share > 0 or status == "ok":
                acc.inc("llm_requests_total", {**base, **ident, "status": status}, i, rpm * share)
        answered = rpm * (shares["ok"] + shares["refused"])
        key = (p["provider"], p["model"])
        hist_rpm[key][i] = rpm * (1 - shares["error"] - shares["rate_limited"])
        hist_p50[key][i] = p["p50"]
        for direction, per in (("input", p["tin"]), ("output", p["tout"])):
            acc.inc("llm_tokens_total", {**base, "model": p["model"], "prompt_version": p["pver"],
                                         "direction": direction}, i, answered * per)
        price_in, price_out = PRICES[p["model"]]
        acc.inc("llm_cost_usd_total", {**base, "provider": p["provider"], "model": p["model"]}, i,
                answered * (p["tin"] * price_in + p["tout"] * price_out) / 1000)
        if p["vf"] > 0:
            acc.inc("llm_output_validation_failures_total", {**base, "prompt_version": p["pver"],
                                                             "reason": p["vf_reason"]}, i, answered * p["vf"])
        for metric, score in p["evals"].items():
            acc.set("llm_eval_score", {**base, "model": p["model"], "model_version": p["mver"],
                                       "prompt_version": p["pver"], "metric": metric}, i,
                    min(1.0, score))
        feedback = answered * 0.04
        acc.inc("llm_feedback_total", {**base, "sentiment": "negative"}, i, feedback * p["neg"])
        acc.inc("llm_feedback_total", {**base, "sentiment": "positive"}, i, feedback * (1 - p["neg"]))
        if p["gb"] > 0:
            acc.inc("llm_guardrail_blocks_total", {**base, "guardrail": p["guardrail"]}, i, p["gb"])
        http_err = min(1.0, shares["error"] + shares["timeout"] + p["http_extra_err"])
        acc.inc("http_requests_total", {**base, "code": "200"}, i, rpm * (1 - http_err))
        acc.inc("http_requests_total", {**base, "code": "500"}, i, rpm * http_err)
    acc.emit(b)
    for (provider, model), rpms in hist_rpm.items():
        first = min(rpms)
        b.histogram("llm_request_duration_seconds",
                    {"service": service, "namespace": namespace, "provider": provider, "model": model},
                    lambda i, rpms=rpms, first=first: None if i < first else rpms.get(i, 0.0),
                    lambda i, p50s=hist_p50[(provider, model)]: p50s.get(i, 1.0))


WORKLOAD_DEFAULTS: dict[str, Any] = {
    "mem": 0.55, "restarts": 0.0, "throttle": 0.02, "available": None, "waiting": "", "terminated": "",
    "cpu": 0.3,
}


def workload(b: Builder, service: str, namespace: str, replicas: int, image: str, params: Params,
             *, node: str = "ip-10-0-1-21", limit_gib: float = 2.0, container: str = "app",
             revision: int = 5, previous_image: str = "", rollout_at: str = "", new_pods: int = 0,
             bad_pods: set[int] | None = None) -> list[str]:
    """kube-state-metrics and cAdvisor series, plus the Deployment, ReplicaSets and Pods. `params(i)` holds
    mem (share of the limit), restarts (per minute, per bad pod), throttle (share), available (replicas),
    waiting/terminated (reasons on the bad pods). Returns the pod names."""
    rs_hash = suffix(f"{b.id}/{service}/rs{revision}", 9)[:9].lower()
    pods = [f"{service}-{rs_hash}-{suffix(f'{b.id}/{service}/{k}')}" for k in range(replicas)]
    bad = set(range(replicas)) if bad_pods is None else bad_pods
    limit = limit_gib * 2**30
    acc = _Acc()
    restarts_total = {k: 0.0 for k in range(replicas)}
    for i in range(STEPS):
        p = {**WORKLOAD_DEFAULTS, **params(i)}
        for k, pod in enumerate(pods):
            labels = {"namespace": namespace, "pod": pod, "container": container}
            is_bad = k in bad
            share = p["mem"] if is_bad else WORKLOAD_DEFAULTS["mem"]
            acc.set("container_memory_working_set_bytes", labels, i, round(limit * share * (1 + 0.01 * (k - 1))))
            acc.set("kube_pod_container_resource_limits", {**labels, "resource": "memory", "unit": "byte"}, i, limit)
            r = p["restarts"] if is_bad else 0.0
            restarts_total[k] += r
            acc.set("kube_pod_container_status_restarts_total", labels, i, float(int(restarts_total[k])))
            thr = p["throttle"] if is_bad or p["throttle"] > 0.2 else WORKLOAD_DEFAULTS["throttle"]
            acc.inc("container_cpu_cfs_periods_total", labels, i, 600.0)
            acc.inc("container_cpu_cfs_throttled_periods_total", labels, i, 600.0 * thr)
            acc.inc("container_cpu_usage_seconds_total", labels, i, 60 * p["cpu"])
            if is_bad and p["waiting"]:
                acc.set("kube_pod_container_status_waiting_reason", {**labels, "reason": p["waiting"]}, i, 1)
            if is_bad and p["terminated"]:
                acc.set("kube_pod_container_status_last_terminated_reason", {**labels, "reason": p["terminated"]},
                        i, 1)
            acc.set("kube_pod_status_phase", {"namespace": namespace, "pod": pod, "phase": "Running"}, i, 1)
        dep = {"namespace": namespace, "deployment": service}
        acc.set("kube_deployment_spec_replicas", dep, i, replicas)
        avail = p["available"] if p["available"] is not None else replicas
        acc.set("kube_deployment_status_replicas_available", dep, i, avail)
    acc.emit(b)
    last = {**WORKLOAD_DEFAULTS, **params(STEPS - 1)}
    available = last["available"] if last["available"] is not None else replicas
    _objects(b, service, namespace, replicas, image, pods, bad, last, int(available), node, limit_gib, container,
             revision, previous_image, rollout_at, rs_hash, restarts_total)
    return pods


def _objects(b: Builder, service: str, namespace: str, replicas: int, image: str, pods: list[str], bad: set[int],
             last: dict[str, Any], available: int, node: str, limit_gib: float, container: str, revision: int,
             previous_image: str, rollout_at: str, rs_hash: str, restarts: dict[int, float]) -> None:
    labels = {"app": service}
    limits = {"memory": f"{int(limit_gib * 1024)}Mi", "cpu": "1"}
    tmpl = {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": container, "image": image,
                                     "resources": {"limits": limits, "requests": {"memory": limits["memory"],
                                                                                  "cpu": "500m"}}}]}}
    b.objects.append({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": service, "namespace": namespace, "creationTimestamp": "-60d", "generation": revision,
                     "labels": labels, "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": tmpl},
        "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available,
                   "updatedReplicas": replicas, "observedGeneration": revision,
                   "conditions": [{"type": "Available", "status": "True" if available else "False",
                                   "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable"},
                                  {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]},
    })
    rs_list = [(revision, image, rs_hash, rollout_at or "-9d", replicas)]
    if previous_image:
        rs_list.append((revision - 1, previous_image, suffix(f"{b.id}/{service}/rs{revision - 1}", 9).lower(),
                        "-21d", 0))
    for rev, img, h, created, count in rs_list:
        b.objects.append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{service}-{h}", "namespace": namespace, "creationTimestamp": created,
                         "labels": {**labels, "pod-template-hash": h},
                         "annotations": {"deployment.kubernetes.io/revision": str(rev)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": service,
                                              "controller": True}]},
            "spec": {"replicas": count, "selector": {"matchLabels": {**labels, "pod-template-hash": h}},
                     "template": {**tmpl, "spec": {"containers": [{**tmpl["spec"]["containers"][0], "image": img}]},
                                  "metadata": {"labels": {**labels, "pod-template-hash": h}}}},
            "status": {"replicas": count, "readyReplicas": count if rev != revision else available,
                       "availableReplicas": count if rev != revision else available},
        })
    for k, pod in enumerate(pods):
        is_bad = k in bad
        state: dict[str, Any] = {"running": {"startedAt": "-3h" if not is_bad else "-2m"}}
        ready = True
        if is_bad and last["waiting"]:
            state = {"waiting": {"reason": last["waiting"],
                                 "message": "back-off 5m0s restarting failed container"
                                 if last["waiting"] == "CrashLoopBackOff" else last["waiting"]}}
            ready = False
        status_entry: dict[str, Any] = {"name": container, "image": image, "ready": ready,
                                        "restartCount": int(restarts[k]), "state": state}
        if is_bad and last["terminated"]:
            status_entry["lastState"] = {"terminated": {
                "reason": last["terminated"], "exitCode": 137 if last["terminated"] == "OOMKilled" else 1,
                "startedAt": "-6m", "finishedAt": "-3m"}}
        b.objects.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": namespace, "creationTimestamp": rollout_at or "-3h",
                         "labels": {**labels, "pod-template-hash": rs_hash},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": f"{service}-{rs_hash}", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": container, "image": image}]},
            "status": {"phase": "Running", "startTime": rollout_at or "-3h",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [status_entry]},
        })


def event(b: Builder, namespace: str, obj_kind: str, obj_name: str, reason: str, message: str, count: int,
          first: str, last: str, type_: str = "Warning") -> None:
    b.objects.append({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{obj_name}.{suffix(b.id + obj_name + reason, 8)}", "namespace": namespace,
                     "creationTimestamp": first},
        "involvedObject": {"kind": obj_kind, "name": obj_name, "namespace": namespace},
        "reason": reason, "message": message, "type": type_, "count": count,
        "firstTimestamp": first, "lastTimestamp": last, "source": {"component": "kubelet"},
    })


def node(b: Builder, name: str, conditions: dict[str, str], params: Callable[[int], dict[str, str]] | None = None,
         gpu: bool = False) -> None:
    """A Node object and its kube_node_status_condition series; `params(i)` gives condition -> status."""
    base = {"Ready": "True", "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False"}
    final = {**base, **conditions}
    labels = {"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": "p4d.24xlarge" if gpu else "m6i.2xlarge"}
    b.objects.append({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": "-40d", "labels": labels},
        "spec": {"unschedulable": False},
        "status": {"conditions": [{"type": t, "status": s, "reason": f"Kubelet{'Has' if s == 'True' else 'HasNo'}{t}"
                                   if t != "Ready" else ("KubeletReady" if s == "True" else "KubeletNotReady"),
                                   "lastTransitionTime": "-40d" if s == base[t] else "-14m"}
                                  for t, s in final.items()]},
    })
    for cond in base:
        for status in ("true", "false", "unknown"):
            def value(i: int, cond: str = cond, status: str = status) -> float:
                current = {**base, **(params(i) if params else {})}
                return 1.0 if current[cond].lower() == status else 0.0
            b.gauge("kube_node_status_condition", {"node": name, "condition": cond, "status": status}, value)


def vllm(b: Builder, service: str, namespace: str, model_name: str, params: Params, seed: int = 0) -> None:
    """vLLM's own metrics: running, waiting, KV-cache usage, success counter, e2e latency histogram.
    params: rpm, running, waiting, kv, e2e (median seconds), ttft (median seconds)."""
    labels = {"service": service, "namespace": namespace, "model_name": model_name}
    b.gauge("vllm:num_requests_running", labels, lambda i: params(i)["running"] * wobble(i, seed, 0.05))
    b.gauge("vllm:num_requests_waiting", labels, lambda i: params(i)["waiting"])
    b.gauge("vllm:kv_cache_usage_perc", labels, lambda i: min(1.0, params(i)["kv"] * wobble(i, seed, 0.02)))
    b.counter("vllm:request_success_total", {**labels, "finished_reason": "stop"}, lambda i: params(i)["rpm"])
    b.histogram("vllm:e2e_request_latency_seconds", labels, lambda i: params(i)["rpm"], lambda i: params(i)["e2e"])
    b.histogram("vllm:time_to_first_token_seconds", labels, lambda i: params(i)["rpm"], lambda i: params(i)["ttft"],
                buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))


def gpus(b: Builder, hostname: str, count: int, params: Callable[[int, int], dict[str, float]],
         pod: str = "", namespace: str = "") -> None:
    """DCGM exporter series per GPU; params(i, gpu) -> util, fb_used, fb_free (MiB), xid."""
    for g in range(count):
        labels = {"gpu": str(g), "UUID": f"GPU-{suffix(hostname + str(g), 8)}", "Hostname": hostname,
                  "modelName": "NVIDIA A100-SXM4-80GB"}
        if pod:
            labels.update({"namespace": namespace, "pod": pod, "container": "vllm"})
        b.gauge("DCGM_FI_DEV_GPU_UTIL", labels, lambda i, g=g: params(i, g)["util"])
        b.gauge("DCGM_FI_DEV_FB_USED", labels, lambda i, g=g: params(i, g)["fb_used"])
        b.gauge("DCGM_FI_DEV_FB_FREE", labels, lambda i, g=g: params(i, g)["fb_free"])
        b.gauge("DCGM_FI_DEV_XID_ERRORS", labels, lambda i, g=g: params(i, g)["xid"])


def gateway(b: Builder, namespace: str, deployments: dict[str, tuple[str, str]],
            params: Callable[[int, str], dict[str, Any]]) -> None:
    """LiteLLM proxy series per deployment name -> (api_provider, model). params(i, name): rpm, fail,
    exception_status, state (0/1/2), remaining, spend_per_min."""
    for name, (provider, model) in deployments.items():
        labels = {"service": "litellm-proxy", "namespace": namespace, "api_provider": provider,
                  "litellm_model_name": model, "model_group": name}
        b.counter("litellm_deployment_success_responses_total", labels,
                  lambda i, n=name: params(i, n)["rpm"] * (1 - params(i, n)["fail"]))
        b.counter("litellm_deployment_failure_responses_total",
                  {**labels, "exception_status": str(params(STEPS - 1, name)["exception_status"])},
                  lambda i, n=name: params(i, n)["rpm"] * params(i, n)["fail"])
        b.gauge("litellm_deployment_state", labels, lambda i, n=name: params(i, n)["state"])
        b.gauge("litellm_remaining_requests_metric", labels, lambda i, n=name: params(i, n)["remaining"])
        b.counter("litellm_spend_metric_total", labels, lambda i, n=name: params(i, n)["spend_per_min"])


def log_lines(b: Builder, template: str, start_step: int, every: int = 1, end_step: int = STEPS - 1,
              limit: int = 25) -> list[tuple[str, str]]:
    """Repeated log lines from start_step to end_step (every `every` minutes), at most `limit` of them."""
    out = []
    for n, i in enumerate(range(start_step, end_step + 1, every)):
        out.append((at(i), template.format(n=n, id=suffix(f"{b.id}{n}{template}", 8), ms=180 + (n * 37) % 900)))
    return out[-limit:]


__all__ = ["DEFAULTS", "PRICES", "event", "gateway", "gpus", "llm_app", "log_lines", "node", "timeline", "vllm",
           "workload", "lognormal_cdf"]
