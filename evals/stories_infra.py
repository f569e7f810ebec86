# ruff: noqa: E501
"""Scenario stories for the infra domain and for situations with no fault (see evals/generate.py)."""

from __future__ import annotations

from typing import Any

from scenario_kit import Builder, at, step_of
from stories_app import CHANGING
from workloads import event, gpus, llm_app, log_lines, node, timeline, vllm, workload

APP_FORBID = ["provider.failover", "model.rollback", "prompt.rollback"]


def _expr_http(svc: str, ns: str) -> str:
    return (f'sum(rate(http_requests_total{{service="{svc}",namespace="{ns}",code=~"5.."}}[5m])) / '
            f'sum(rate(http_requests_total{{service="{svc}",namespace="{ns}"}}[5m])) > 0.05')


def crashloop(sid: str, svc: str, ns: str, base: dict[str, Any], onset: int, *, cause: str, title: str,
              deploy: bool, alert_on: str = "", seed: int = 0, replicas: int = 3) -> Builder:
    """cause: oom (memory leak or bigger batch), config (missing setting), imagepull (bad tag)."""
    tags = ["infra"] + (["cascade"] if alert_on else [])
    b = Builder(sid, title, f"""{svc} {'was deployed (new image) ' + str(onset) + ' minutes ago and ' if deploy
        else ''}{'its pods are OOMKilled and restart' if cause == 'oom' else 'its new pods crash at start'
        if cause == 'config' else 'the new pods cannot pull their image'}.{' The alert fires on ' + alert_on +
        ', which calls ' + svc + ' and fails with it.' if alert_on else ''} Model, prompt and provider are
        fine.""", tags)
    s = step_of(onset)
    new_image, old_image = f"registry.local/{svc}:2.{8 + seed}.0", f"registry.local/{svc}:2.{7 + seed}.3"

    def params(i: int) -> dict[str, Any]:
        if cause == "oom":
            if i < s:
                return {"mem": 0.55 + (0.0 if deploy else 0.35 * i / s)}
            return {"mem": 0.97, "restarts": 0.34, "terminated": "OOMKilled", "waiting": "CrashLoopBackOff",
                    "available": 1}
        if i < s:
            return {}
        if cause == "config":
            return {"restarts": 0.4, "terminated": "Error", "waiting": "CrashLoopBackOff", "available": 0}
        return {"waiting": "ImagePullBackOff", "available": replicas - 1}

    bad = {0, 1, 2} if cause != "imagepull" else {0}
    pods = workload(b, svc, ns, replicas, new_image if deploy else old_image, params, revision=7 + seed,
                    previous_image=old_image if deploy else "", rollout_at=at(s) if deploy else "",
                    bad_pods=bad, limit_gib=4.0 if cause == "oom" else 1.0)
    failing = 0.55 if cause != "imagepull" else 0.04
    llm_app(b, svc, ns, timeline(base, (s, {"http_extra_err": failing, "rpm": base.get("rpm", 120) * 0.6})), seed=seed)
    if cause == "oom":
        event(b, ns, "Pod", pods[0], "BackOff", "Back-off restarting failed container app", 14, at(s + 2), "-1m")
        event(b, ns, "Pod", pods[0], "OOMKilling", "Memory cgroup out of memory: Killed process 1 (python)", 6,
              at(s), "-3m")
        b.pod_log(ns, pods[0], "app", log_lines(b, "WARN memory usage high: rss={ms}MiB batch_size=64", s - 20,
                                                every=5) + [(at(s), "Killed")])
    elif cause == "config":
        event(b, ns, "Pod", pods[0], "BackOff", "Back-off restarting failed container app", 22, at(s + 1), "-1m")
        b.pod_log(ns, pods[0], "app", [(at(s), f"INFO starting server version 2.{8 + seed}.0"),
                                       (at(s), "Traceback (most recent call last):"),
                                       (at(s), "KeyError: 'VECTOR_DB_URL'"),
                                       (at(s), "FATAL configuration invalid: VECTOR_DB_URL is required")])
    else:
        event(b, ns, "Pod", pods[0], "Failed", f'Failed to pull image "{new_image}": manifest unknown', 9, at(s + 1),
              "-1m")
    if deploy:
        b.change(at(s), "deploy", svc, ns, svc, old_image.split(":")[1], new_image.split(":")[1], "argocd")
    target = alert_on or svc
    if alert_on:
        llm_app(b, alert_on, ns, timeline({**base, "pver": "v3"}, (s, {"http_extra_err": 0.3})), seed=seed + 3)
        caller_pods = workload(b, alert_on, ns, 2, f"registry.local/{alert_on}:1.12.0", lambda i: {}, revision=12)
        b.pod_log(ns, caller_pods[0], "app", log_lines(
            b, f"ERROR upstream {svc}.{ns}.svc:8080 request failed: connection refused", s, every=2))
        b.alert("HTTPErrorRateHigh", {"service": alert_on, "namespace": ns, "severity": "critical"},
                f"{alert_on} answers more than 5% of requests with 5xx", at(s + 4), _expr_http(alert_on, ns))
    elif cause == "imagepull":
        b.alert("KubeDeploymentReplicasMismatch", {"deployment": svc, "service": svc, "namespace": ns,
                                                   "severity": "warning"},
                f"Deployment {ns}/{svc} has not matched the expected number of replicas for 10 minutes",
                at(s + 10), f'kube_deployment_spec_replicas{{namespace="{ns}",deployment="{svc}"}} != '
                            f'kube_deployment_status_replicas_available{{namespace="{ns}",deployment="{svc}"}}')
    else:
        b.alert("KubePodCrashLooping", {"service": svc, "namespace": ns, "pod": pods[0], "severity": "critical"},
                f"Pod {ns}/{pods[0]} is crash looping",
                at(s + 5), f'increase(kube_pod_container_status_restarts_total{{namespace="{ns}"}}[10m]) > 2')
    accept = ["k8s.rollback"] if deploy else ["k8s.rollout_restart", "k8s.scale"]
    b.expects("infra", {"service": svc}, accept, APP_FORBID + (["k8s.cordon"] if target else []))
    return b


def throttling(sid: str, svc: str, ns: str, base: dict[str, Any], onset: int, share: float, *, title: str,
               seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""Traffic to {svc} rose by half {onset} minutes ago; its containers hit their
        CPU limit and {share:.0%} of CFS periods are throttled, so request latency climbed. No deploy, no model,
        prompt or provider change.""", ["infra"])
    s = step_of(onset)
    workload(b, svc, ns, 3, f"registry.local/{svc}:5.1.2",
             lambda i: {"throttle": share, "cpu": 0.98} if i >= s else {"cpu": 0.55}, revision=9)
    llm_app(b, svc, ns, timeline(base, (s, {"rpm": base.get("rpm", 120) * 1.5, "http_extra_err": 0.02})), seed=seed)
    b.histogram("http_request_duration_seconds", {"service": svc, "namespace": ns},
                lambda i: base.get("rpm", 120) * (1.5 if i >= s else 1.0), lambda i: 2.8 if i >= s else 0.18)
    b.alert("HTTPLatencyHigh", {"service": svc, "namespace": ns, "severity": "warning"},
            f"p95 latency of {svc} above 2s", at(s + 6),
            f'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{service="{svc}",'
            f'namespace="{ns}"}}[5m]))) > 2')
    b.expects("infra", {"service": svc}, ["k8s.scale"], APP_FORBID + ["k8s.rollback", "k8s.cordon"])
    return b


def node_problem(sid: str, svc: str, ns: str, base: dict[str, Any], node_name: str, condition: str, onset: int, *,
                 title: str, seed: int = 0, cascade: bool = False) -> Builder:
    b = Builder(sid, title, f"""Node {node_name} reports {condition} since {onset} minutes ago; pods of {svc}
        on it are evicted and restarted, so {svc} runs short of replicas and errors rise. The other nodes are
        healthy and nothing was deployed.""", ["infra"] + (["cascade"] if cascade else []))
    s = step_of(onset)
    node(b, node_name, {condition: "True"}, lambda i: {condition: "True"} if i >= s else {})
    node(b, "ip-10-0-2-" + str(40 + seed), {})
    pods = workload(b, svc, ns, 4, f"registry.local/{svc}:1.9.4",
                    lambda i: {"restarts": 0.2, "available": 2} if i >= s else {}, node=node_name, bad_pods={0, 1},
                    revision=6)
    llm_app(b, svc, ns, timeline(base, (s, {"http_extra_err": 0.12})), seed=seed)
    event(b, ns, "Pod", pods[0], "Evicted", f"The node was low on resource: {condition.replace('Pressure', '').lower()}.",
          3, at(s + 1), "-2m")
    if cascade:
        b.alert("HTTPErrorRateHigh", {"service": svc, "namespace": ns, "severity": "critical"},
                f"{svc} answers more than 5% of requests with 5xx", at(s + 5), _expr_http(svc, ns))
    else:
        b.alert("KubeNodePressure", {"node": node_name, "condition": condition, "severity": "warning"},
                f"Node {node_name} has {condition}", at(s + 3),
                f'kube_node_status_condition{{condition="{condition}",status="true"}} == 1')
    b.expects("infra", {"node": node_name}, ["k8s.cordon"], APP_FORBID + ["k8s.rollback"])
    return b


def model_server(sid: str, svc: str, ns: str, fault: str, onset: int, *, title: str, caller: str = "",
                 seed: int = 0) -> Builder:
    """A self-hosted vLLM server: fault is xid (GPU fell off the bus), gpu_memory (FB exhausted), or
    saturation (KV cache full, queue growing)."""
    host = f"gpu-a100-{seed + 1}"
    b = Builder(sid, title, f"""{svc} serves llama-3.1-8b-instruct with vLLM on {host}.
        {'GPU 0 raised Xid 79 (fallen off the bus) ' if fault == 'xid' else 'GPU memory is exhausted (CUDA out of memory) '
         if fault == 'gpu_memory' else 'Traffic grew and the KV cache is full; requests queue '}{onset} minutes
        ago.{' The alert fires on ' + caller + ', which calls the model server.' if caller else ''}""",
                ["infra"] + (["cascade"] if caller else []))
    s = step_of(onset)

    def vp(i: int) -> dict[str, float]:
        if i < s:
            return {"rpm": 240.0, "running": 18.0, "waiting": 0.0, "kv": 0.42, "e2e": 1.4, "ttft": 0.12}
        if fault == "saturation":
            return {"rpm": 250.0, "running": 64.0, "waiting": 35.0 + (i - s), "kv": 0.99, "e2e": 9.5, "ttft": 4.2}
        return {"rpm": 60.0, "running": 4.0, "waiting": 12.0, "kv": 0.3, "e2e": 6.0, "ttft": 2.5}

    vllm(b, svc, ns, "llama-3.1-8b-instruct", vp, seed=seed)
    pods = workload(b, svc, ns, 2, "vllm/vllm-openai:v0.6.3", lambda i: {"restarts": 0.25} if i >= s and fault != "saturation"
                    else {}, node=host, bad_pods={0}, limit_gib=64.0, container="vllm", revision=3)

    def gp(i: int, g: int) -> dict[str, float]:
        bad = i >= s and g == 0
        if fault == "xid":
            return {"util": 0.0 if bad else 71.0, "fb_used": 0.0 if bad else 61000.0,
                    "fb_free": 0.0 if bad else 20000.0, "xid": 79.0 if bad else 0.0}
        if fault == "gpu_memory":
            return {"util": 99.0 if bad else 70.0, "fb_used": 81050.0 if bad else 60500.0 + 300 * i / 150,
                    "fb_free": 20.0 if bad else 20500.0, "xid": 0.0}
        return {"util": 99.0 if i >= s else 68.0, "fb_used": 74000.0, "fb_free": 7000.0, "xid": 0.0}

    gpus(b, host, 2, gp, pod=pods[0], namespace=ns)
    node(b, host, {}, gpu=True)
    texts = {"xid": "ERROR CUDA error: unspecified launch failure (NVRM: Xid (PCI:0000:07:00): 79, GPU has fallen off the bus)",
             "gpu_memory": "ERROR torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
             "saturation": "WARN scheduler: {n} requests waiting; KV cache usage 99.8%, preempting sequence"}
    b.pod_log(ns, pods[0], "vllm", log_lines(b, texts[fault], s, every=3))
    if caller:
        llm_app(b, caller, ns, timeline({"provider": "self-hosted", "model": "llama-3.1-8b-instruct", "mver": "2024-07-23",
                                         "pver": "v6", "rpm": 200.0},
                                        (s, {"p50": 9.0, "timeout": 0.18})), seed=seed)
        workload(b, caller, ns, 3, f"registry.local/{caller}:3.0.1", lambda i: {}, revision=5)
        b.alert("LLMLatencyHigh", {"service": caller, "namespace": ns, "severity": "warning"},
                f"p95 model latency of {caller} above 6s", at(s + 5),
                f'histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{{service="{caller}",'
                f'namespace="{ns}"}}[5m]))) > 6')
    elif fault == "saturation":
        b.alert("VLLMQueueBacklog", {"service": svc, "namespace": ns, "severity": "warning"},
                f"More than 20 requests waiting on {svc}", at(s + 4),
                f'sum(vllm:num_requests_waiting{{service="{svc}",namespace="{ns}"}}) > 20')
    else:
        b.alert("VLLMRequestLatencyHigh", {"service": svc, "namespace": ns, "severity": "critical"},
                f"p95 end-to-end latency of {svc} above 5s", at(s + 4),
                f'histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{{service="{svc}"}}[5m]))) > 5')
    if fault == "xid":
        b.expects("infra", {"node": host}, ["k8s.cordon"], APP_FORBID + ["k8s.rollback", "k8s.scale"])
    elif fault == "gpu_memory":
        b.expects("infra", {"service": svc}, ["k8s.rollout_restart"], APP_FORBID + ["k8s.rollback", "k8s.cordon"])
    else:
        b.expects("infra", {"service": svc}, ["k8s.scale", "traffic.shed"], APP_FORBID + ["k8s.rollback", "k8s.cordon"])
    return b


def stuck_pod(sid: str, svc: str, ns: str, base: dict[str, Any], onset: int, *, title: str, seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""One of four {svc} pods stopped answering {onset} minutes ago (its readiness
        probe fails; the process hangs on a deadlocked worker thread). The other three are fine; nothing changed.""",
                ["infra"])
    s = step_of(onset)
    pods = workload(b, svc, ns, 4, f"registry.local/{svc}:7.2.0", lambda i: {"available": 3} if i >= s else {},
                    bad_pods={2}, revision=11)
    llm_app(b, svc, ns, timeline(base, (s, {"http_extra_err": 0.22})), seed=seed)
    event(b, ns, "Pod", pods[2], "Unhealthy", "Readiness probe failed: Get \"http://10.1.4.7:8080/ready\": context "
          "deadline exceeded", 30, at(s + 1), "-1m")
    b.pod_log(ns, pods[2], "app", log_lines(b, "ERROR worker pool: no progress for {ms}s, 32 tasks pending", s, every=4))
    b.alert("HTTPErrorRateHigh", {"service": svc, "namespace": ns, "severity": "warning"},
            f"{svc} answers more than 5% of requests with 5xx", at(s + 4), _expr_http(svc, ns))
    b.expects("infra", {"service": svc, "pod": pods[2]}, ["k8s.delete_pod", "k8s.rollout_restart"],
              APP_FORBID + ["k8s.rollback", "k8s.cordon"])
    return b


# -- no fault ----------------------------------------------------------------------------------------------

def no_fault(sid: str, svc: str, ns: str, base: dict[str, Any], kind: str, *, title: str, seed: int = 0) -> Builder:
    """kind: flapping, planned_deploy, resolved_blip, low_traffic, status_noise, eval_noise, batch_spend,
    single_restart, prompt_fine, benign_throttle."""
    text = {
        "flapping": "p95 latency hovers right at the 4s threshold, as it has all afternoon; the alert flaps.",
        "planned_deploy": "A planned deploy rolled out 25 minutes ago; the replica alert fired during the "
                          "rollout and every replica is available now.",
        "resolved_blip": "Errors spiked for two minutes twelve minutes ago and recovered on their own; the "
                         "notification is the resolve.",
        "low_traffic": "A night-time trickle of 3 requests a minute; two errors make the error ratio cross 5%.",
        "status_noise": "The provider's status page reports a minor incident on an unrelated product; the "
                        "service's own calls are healthy.",
        "eval_noise": "The online eval score dipped within its usual range after a hard batch of questions.",
        "batch_spend": "The nightly batch re-summarisation job runs as scheduled and spends as much as every night.",
        "single_restart": "One pod restarted once forty minutes ago (node maintenance drained it); all is healthy.",
        "prompt_fine": "Prompt was updated 30 minutes ago and every signal stayed where it was.",
        "benign_throttle": "A low-priority indexer is throttled by design (CPU limit), with no effect on latency "
                           "or errors.",
    }[kind]
    b = Builder(sid, title, f"{svc}: {text} There is no fault to fix.", ["none", kind])
    phases: list[tuple[int, dict[str, Any]]] = []
    wl: dict[str, Any] = {}
    if kind == "resolved_blip":
        phases = [(step_of(12), {"error": 0.3}), (step_of(10), {"error": base.get("error", 0.004)})]
    if kind == "low_traffic":
        phases = [(0, {"rpm": 3.0}), (step_of(8), {"error": 0.12})]
    if kind == "flapping":
        phases = [(i, {"p50": 1.55 if (i // 7) % 2 else 1.35}) for i in range(0, 151, 7)]
    if kind == "prompt_fine":
        phases = [(step_of(30), {"pver": "v" + str(int(base["pver"][1:]) + 1)})]
    if kind == "batch_spend":
        phases = [(step_of(60), {"rpm": base.get("rpm", 120) * 4})]
    pods_restart = kind == "single_restart"
    llm_app(b, svc, ns, timeline(base, *phases), seed=seed)
    deploy = kind == "planned_deploy"
    s25 = step_of(25)
    pods = workload(b, svc, ns, 3, f"registry.local/{svc}:4.{seed}.1" if deploy else f"registry.local/{svc}:4.0.0",
                    lambda i: ({"available": 2} if deploy and s25 <= i < s25 + 6 else
                               {"restarts": 1.0} if pods_restart and i == step_of(40) else
                               {"throttle": 0.35} if kind == "benign_throttle" else wl),
                    previous_image=f"registry.local/{svc}:4.{seed - 1}.7" if deploy else "",
                    rollout_at=at(s25) if deploy else "", bad_pods={0}, revision=8)
    del pods
    labels = {"service": svc, "namespace": ns, "severity": "warning"}
    if kind == "flapping":
        b.alert("LLMLatencyHigh", labels, f"p95 model latency of {svc} above 4s", "-2m",
                f'histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{{service="{svc}"}}[5m]))) > 4')
    elif kind == "planned_deploy":
        b.change(at(s25), "deploy", svc, ns, svc, f"4.{seed - 1}.7", f"4.{seed}.1", "argocd")
        b.alert("KubeDeploymentReplicasMismatch", {**labels, "deployment": svc},
                f"Deployment {ns}/{svc} replicas mismatch", at(s25 + 2),
                f'kube_deployment_spec_replicas{{deployment="{svc}"}} != kube_deployment_status_replicas_available')
    elif kind == "resolved_blip":
        b.alert_status = "resolved"
        b.alert("LLMErrorRateHigh", labels, f"More than 10% of model calls from {svc} fail", "-11m",
                f'sum(rate(llm_requests_total{{service="{svc}",status="error"}}[2m])) / '
                f'sum(rate(llm_requests_total{{service="{svc}"}}[2m])) > 0.1', status="resolved", ends="-8m")
    elif kind == "low_traffic":
        b.alert("HTTPErrorRateHigh", labels, f"{svc} answers more than 5% of requests with 5xx", "-3m",
                _expr_http(svc, ns))
    elif kind == "status_noise":
        b.provider(base["provider"], "minor", "Minor Service Outage", [{
            "name": "Degraded performance for image generation in the consumer app", "status": "monitoring",
            "impact": "minor", "created_at": "-50m", "updated_at": "-10m"}],
            [{"name": "API", "status": "operational"}, {"name": "Image generation", "status": "degraded_performance"}])
        b.alert("LLMProviderStatusDegraded", {"provider": base["provider"], "severity": "info", "namespace": ns},
                f"Status page of {base['provider']} reports an incident", "-45m",
                f'statuspage_indicator{{provider="{base["provider"]}"}} > 0')
    elif kind == "eval_noise":
        metric = next(iter(base.get("evals", {"relevance": 0.86})))
        b.alert("LLMEvalScoreLow", labels, f"Online {metric} score of {svc} below target", "-4m",
                f'min(llm_eval_score{{service="{svc}",metric="{metric}"}}) < 0.86')
    elif kind == "batch_spend":
        b.change(at(step_of(60)), "job", svc, ns, "nightly-resummarize", "", "run-2291", "cron")
        b.alert("LLMSpendRateHigh", labels, f"LLM spend of {svc} above 25 USD/hour", "-40m",
                f'sum(rate(llm_cost_usd_total{{service="{svc}"}}[15m])) * 3600 > 25')
    elif kind == "single_restart":
        b.alert("KubePodRestarted", labels, f"A pod of {svc} restarted", at(step_of(39)),
                f'increase(kube_pod_container_status_restarts_total{{namespace="{ns}"}}[1h]) > 0')
    elif kind == "prompt_fine":
        b.change(at(step_of(30)), "prompt", svc, ns, svc.replace("-", "_"), base["pver"],
                 "v" + str(int(base["pver"][1:]) + 1), "ci")
        b.alert("LLMPromptChanged", {**labels, "severity": "info"}, f"Prompt of {svc} changed; watch the signals",
                at(step_of(29)), f'changes(llm_requests_total{{service="{svc}"}}[30m]) > 0')
    else:
        b.alert("CPUThrottlingHigh", {**labels, "severity": "info", "container": "app"},
                f"{svc} is throttled in more than 25% of CFS periods", "-30m",
                'sum(rate(container_cpu_cfs_throttled_periods_total[5m])) / sum(rate(container_cpu_cfs_periods_total[5m])) > 0.25')
    b.expects("none", {}, [], CHANGING)
    return b
