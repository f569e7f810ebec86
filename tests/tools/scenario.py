"""One known situation, loaded into the real backends by the tool tests and the evidence-sweep benchmark.

At INSTANT (a whole minute, ten minutes ago) with samples every minute for three hours before it:
- summarizer (prod): prompt v13 replaced v12 40 minutes before the instant, and its outputs fail JSON
  validation since; its eval score dropped from 0.9 (v12) to 0.6 (v13);
- api (prod): its container was OOM killed and restarted every 5 minutes for the last 30 minutes; its
  Deployment rolled out revision 2 (image 1.1.0) 20 minutes before the instant;
- the gateway: OpenAI answers 429 for the last 20 minutes and LiteLLM marks the deployment in outage;
  translator (prod) calls Anthropic only, which is fine;
- node n2 is under memory pressure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.replay.kube import LogLines
from agent.replay.prometheus import Sample

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
INSTANT = NOW - timedelta(minutes=10)
START = INSTANT - timedelta(hours=3)
STEPS = 181  # one sample per minute from START to INSTANT
ONSET = INSTANT - timedelta(minutes=4)
PROMPT_CHANGE = INSTANT - timedelta(minutes=40)
ROLLOUT = INSTANT - timedelta(minutes=20)


def at(minutes_before: float) -> datetime:
    return INSTANT - timedelta(minutes=minutes_before)


def _ts(step: int) -> float:
    return (START + timedelta(minutes=step)).timestamp()


def series(values: list[float | None]) -> list[tuple[float, float | None]]:
    assert len(values) == STEPS
    return [(_ts(i), v) for i, v in enumerate(values)]


def counter(start_step: int, per_step: float, *, stop_step: int = STEPS) -> list[float | None]:
    """Missing before start_step, then counting up by per_step, flat after stop_step."""
    out: list[float | None] = []
    for i in range(STEPS):
        if i < start_step:
            out.append(None)
        else:
            out.append(per_step * (min(i, stop_step) - start_step))
    return out


def gauge(value: float | None, *, from_step: int = 0, to_step: int = STEPS) -> list[float | None]:
    return [value if from_step <= i < to_step else None for i in range(STEPS)]


SUMMARIZER = {"service": "summarizer", "namespace": "prod"}
V12 = {**SUMMARIZER, "provider": "openai", "model": "gpt-4.1", "model_version": "2025-04-14", "status": "ok",
       "prompt_version": "v12"}
V13 = {**V12, "prompt_version": "v13"}
CHANGE_STEP = STEPS - 1 - 40  # the step of PROMPT_CHANGE


def samples(filler: int = 0) -> list[Sample]:
    """The scenario's series, plus `filler` unrelated series (to load Prometheus like a real one)."""
    out: list[Sample] = [
        ("llm_requests_total", V12, series(counter(0, 50, stop_step=CHANGE_STEP))),
        ("llm_requests_total", V13, series(counter(CHANGE_STEP, 50))),
        ("llm_requests_total", {"service": "translator", "namespace": "prod", "provider": "anthropic",
                                "model": "claude", "model_version": "4", "prompt_version": "v3", "status": "ok"},
         series(counter(0, 20))),
        ("llm_output_validation_failures_total", {**SUMMARIZER, "prompt_version": "v13", "reason": "invalid_json"},
         series(counter(CHANGE_STEP, 9))),
        ("llm_eval_score", {**SUMMARIZER, "model": "gpt-4.1", "model_version": "2025-04-14", "prompt_version": "v12",
                            "metric": "faithfulness"}, series(gauge(0.9, to_step=CHANGE_STEP))),
        ("llm_eval_score", {**SUMMARIZER, "model": "gpt-4.1", "model_version": "2025-04-14", "prompt_version": "v13",
                            "metric": "faithfulness"}, series(gauge(0.6, from_step=CHANGE_STEP))),
        ("kube_pod_container_status_restarts_total", {"namespace": "prod", "pod": "api-7f9c-abcde",
                                                      "container": "app"},
         series([float(max(0, (i - (STEPS - 31)) // 5 + 1)) if i >= STEPS - 31 else 0.0 for i in range(STEPS)])),
        ("kube_pod_container_status_last_terminated_reason", {"namespace": "prod", "pod": "api-7f9c-abcde",
                                                              "container": "app", "reason": "OOMKilled"},
         series(gauge(1.0, from_step=STEPS - 31))),
        ("litellm_deployment_failure_responses_total", {"api_provider": "openai", "exception_status": "429"},
         series([0.0 if i < STEPS - 21 else 30.0 * (i - (STEPS - 21)) for i in range(STEPS)])),
        ("litellm_deployment_state", {"api_provider": "openai"},
         series([0.0 if i < STEPS - 16 else 2.0 for i in range(STEPS)])),
        ("kube_node_status_condition", {"node": "n1", "condition": "Ready", "status": "true"}, series(gauge(1.0))),
        ("kube_node_status_condition", {"node": "n2", "condition": "MemoryPressure", "status": "true"},
         series(gauge(1.0))),
    ]
    for i in range(filler):
        out.append(("http_requests_total", {"service": f"filler-{i % 50}", "namespace": "other", "code": "200",
                                            "instance": f"10.0.{i // 250}.{i % 250}:8080"},
                    series(counter(0, float(i % 7 + 1)))))
    return out


def _meta(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "prod", "uid": f"uid-{kind}-{name}", **extra}


def _template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "app", "image": image}]}}


def _rs(name: str, revision: int, image: str, created: datetime, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": _meta("rs", name, labels={"app": "api"}, creationTimestamp=created.isoformat(),
                              annotations={"deployment.kubernetes.io/revision": str(revision)},
                              ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api",
                                                "uid": "uid-deploy-api", "controller": True}]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api"}}, "template": _template(image)},
            "status": {"replicas": replicas, "readyReplicas": 0}}


def kube_objects() -> list[dict[str, Any]]:
    pod_status = {
        "phase": "Running", "startTime": at(60).isoformat(),
        "containerStatuses": [{
            "name": "app", "image": "registry.local/api:1.1.0", "imageID": "registry.local/api@sha256:1",
            "ready": False, "restartCount": 6,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                         "startedAt": at(6).isoformat(), "finishedAt": at(5).isoformat()}}}]}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": _meta("deploy", "api", labels={"app": "api"}, generation=2,
                           annotations={"deployment.kubernetes.io/revision": "2"},
                           creationTimestamp=at(60 * 24 * 30).isoformat()),
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                  "template": _template("registry.local/api:1.1.0")},
         "status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 2,
                    "observedGeneration": 2,
                    "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                                    "message": "Deployment does not have minimum availability."}]}},
        _rs("api-6b8d", 1, "registry.local/api:1.0.0", at(60 * 24 * 30), 0),
        _rs("api-7f9c", 2, "registry.local/api:1.1.0", ROLLOUT, 2),
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": _meta("pod", "api-7f9c-abcde", labels={"app": "api"},
                           ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7f9c",
                                             "uid": "uid-rs-api-7f9c", "controller": True}]),
         "spec": {"nodeName": "n2", "containers": [{"name": "app", "image": "registry.local/api:1.1.0"}]},
         "status": pod_status},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": _meta("pod", "api-7f9c-fghij", labels={"app": "api"}),
         "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "registry.local/api:1.1.0"}]},
         "status": {"phase": "Running", "containerStatuses": [{
             "name": "app", "image": "registry.local/api:1.1.0", "imageID": "registry.local/api@sha256:1",
             "ready": True, "restartCount": 0, "state": {"running": {"startedAt": at(19).isoformat()}}}]}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": _meta("event", "api-7f9c-abcde.1"), "type": "Warning", "reason": "BackOff",
         "message": "Back-off restarting failed container app", "count": 6, "lastTimestamp": at(2).isoformat(),
         "involvedObject": {"kind": "Pod", "name": "api-7f9c-abcde", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": _meta("event", "api.2"), "type": "Normal", "reason": "ScalingReplicaSet",
         "message": "Scaled up replica set api-7f9c to 2", "count": 1, "lastTimestamp": ROLLOUT.isoformat(),
         "involvedObject": {"kind": "Deployment", "name": "api", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": _meta("event", "api.old"), "type": "Warning", "reason": "FailedScheduling",
         "message": "0/2 nodes are available", "count": 1, "lastTimestamp": at(60 * 5).isoformat(),
         "involvedObject": {"kind": "Pod", "name": "api-6b8d-zzzzz", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": _meta("event", "other.1"), "type": "Warning", "reason": "BackOff",
         "message": "not ours", "count": 1, "lastTimestamp": at(1).isoformat(),
         "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "prod"}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "uid-n1"},
         "status": {"conditions": [{"type": "Ready", "status": "True"},
                                   {"type": "MemoryPressure", "status": "False"}]}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2", "uid": "uid-n2"},
         "status": {"conditions": [{"type": "Ready", "status": "True"},
                                   {"type": "MemoryPressure", "status": "True",
                                    "reason": "KubeletHasInsufficientMemory",
                                    "message": "kubelet has insufficient memory available"}]}},
    ]


OOM_LINE = "Traceback: torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate {n} MiB"
RATE_LINE = "ERROR openai call {rid} failed: 429 Too Many Requests (retry in {n}s)"


def pod_logs(lines_per_pod: int = 1500) -> list[LogLines]:
    """Logs of api-7f9c-abcde: info lines, OOM and 429 errors in the last 30 minutes, an old error before."""
    lines: list[tuple[datetime | None, str]] = [(at(120), "ERROR stale error from long ago")]
    for i in range(lines_per_pod):
        when = at(30) + timedelta(seconds=i * 1800 / lines_per_pod)
        if i % 3 == 0:
            lines.append((when, OOM_LINE.format(n=100 + i)))
        elif i % 3 == 1:
            lines.append((when, RATE_LINE.format(rid=f"req-{i:06d}a", n=i % 30)))
        else:
            lines.append((when, f"INFO handled request {i} in {i % 90} ms"))
    lines.append((INSTANT + timedelta(minutes=5), "ERROR after the instant: must not be seen"))
    previous = [(at(6), "ERROR worker killed: OOMKilled"), (at(6), "INFO starting")]
    return [LogLines("prod", "api-7f9c-abcde", "app", lines),
            LogLines("prod", "api-7f9c-fghij", "app", [(at(1), "INFO all good")]),
            LogLines("prod", "api-7f9c-abcde", "app", previous, previous=True)]
