"""Kubernetes: the workload behind an alert, its pods, events, rollout history and nodes (read-only).

Every tool takes a `kubernetes.client.ApiClient` (None when no cluster is configured), the namespace and the
alert's labels, the investigation instant and a per-call timeout, and returns `agent.models.Evidence` (shapes
in tools/EVIDENCE.md). Only GET requests are made. None of them raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from agent.models import Evidence
from tools.result import result

T = TypeVar("T")

log = logging.getLogger(__name__)

REVISION = "deployment.kubernetes.io/revision"
MAX_EVENTS = 30
MAX_PODS = 50
NAME_LABELS = ("deployment", "statefulset", "service", "app", "app_kubernetes_io_name", "container", "job")

Labels = Mapping[str, str]


class Workload:
    """A Deployment or StatefulSet found for an alert (the client's model object and its kind)."""

    def __init__(self, kind: str, obj: Any) -> None:
        self.kind, self.obj = kind, obj

    @property
    def name(self) -> str:
        return str(self.obj.metadata.name)

    @property
    def selector(self) -> dict[str, str]:
        return dict((self.obj.spec.selector and self.obj.spec.selector.match_labels) or {})


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _fail(tool: str, query: str, exc: Exception) -> Evidence:
    if isinstance(exc, ApiException):
        return result(tool, "error", query, error=f"Kubernetes API answered {exc.status}: {exc.reason}")
    return result(tool, "error", query, error=f"{type(exc).__name__}: {str(exc)[:300]}")


def _run(tool: str, query: str, api: Any, body: Callable[[], Evidence]) -> Evidence:
    if api is None:
        return result(tool, "error", query, error="Kubernetes is not configured")
    try:
        return body()
    except Exception as exc:  # a tool never raises: unreachable, timeout, API error, malformed answer
        return _fail(tool, query, exc)


def _read_or_none(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`read(*args, **kwargs)`, or None when the object does not exist (404)."""
    try:
        return read(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


SHARE_S = 2.0
"""How long a lookup of a workload or its pods is shared: the investigation's Kubernetes probes run at once and
all need the same two lookups, so the first does the calls and the others wait for its answer. Kubernetes is
read live, so an answer at most this old is as good as one read that much earlier."""

_shared: dict[tuple[Any, ...], tuple[float, Future[Any]]] = {}
_shared_lock = threading.Lock()


def _share(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Single-flight: concurrent and recent callers with the same key get one computation's result.

    Failures are not kept: the callers waiting get the exception, and the next caller tries again."""
    now = time.monotonic()
    with _shared_lock:
        for stale in [k for k, (at, f) in _shared.items() if f.done() and now - at > SHARE_S]:
            del _shared[stale]
        entry = _shared.get(key)
        owner = entry is None
        if entry is None:
            entry = (now, Future())
            _shared[key] = entry
    future: Future[T] = entry[1]
    if owner:
        try:
            future.set_result(compute())
        except BaseException as exc:
            with _shared_lock:
                _shared.pop(key, None)
            future.set_exception(exc)
        else:
            with _shared_lock:  # the answer is shared for SHARE_S from when it arrived
                if key in _shared:
                    _shared[key] = (time.monotonic(), future)
    return future.result()


def _key(name: str, api: Any, namespace: str, labels: Labels, timeout_s: float) -> tuple[Any, ...]:
    return (name, id(api), namespace, tuple(sorted(labels.items())), timeout_s)


def find_workload(api: Any, namespace: str, labels: Labels, timeout_s: float) -> Workload | None:
    """The Deployment or StatefulSet behind the alert's labels (shared between concurrent probes)."""
    return _share(_key("workload", api, namespace, labels, timeout_s),
                  lambda: _find_workload(api, namespace, labels, timeout_s))


def _find_workload(api: Any, namespace: str, labels: Labels, timeout_s: float) -> Workload | None:
    """The Deployment or StatefulSet named by the labels, owning the labelled pod, or labelled `app=<service>`."""
    apps: Any = k8s.AppsV1Api(api)
    core: Any = k8s.CoreV1Api(api)
    t = {"_request_timeout": timeout_s}
    if labels.get("statefulset"):
        found = _read_or_none(apps.read_namespaced_stateful_set, labels["statefulset"], namespace, **t)
        if found is not None:
            return Workload("StatefulSet", found)
    if labels.get("pod"):
        pod = _read_or_none(core.read_namespaced_pod, labels["pod"], namespace, **t)
        for owner in (pod.metadata.owner_references or []) if pod is not None else []:
            if owner.kind == "StatefulSet":
                return Workload("StatefulSet", apps.read_namespaced_stateful_set(owner.name, namespace, **t))
            if owner.kind == "ReplicaSet":
                rs = _read_or_none(apps.read_namespaced_replica_set, owner.name, namespace, **t)
                for rs_owner in (rs.metadata.owner_references or []) if rs is not None else []:
                    if rs_owner.kind == "Deployment":
                        return Workload("Deployment", apps.read_namespaced_deployment(rs_owner.name, namespace, **t))
    for key in NAME_LABELS:
        name = labels.get(key)
        if not name:
            continue
        found = _read_or_none(apps.read_namespaced_deployment, name, namespace, **t)
        if found is not None:
            return Workload("Deployment", found)
        found = _read_or_none(apps.read_namespaced_stateful_set, name, namespace, **t)
        if found is not None:
            return Workload("StatefulSet", found)
    service = labels.get("service") or labels.get("app")
    if service:
        listed = [d for d in apps.list_namespaced_deployment(namespace, label_selector=f"app={service}", **t).items
                  if (d.metadata.labels or {}).get("app") == service]  # checked here too: not every server filters
        if listed:
            return Workload("Deployment", listed[0])
    return None


def _path(kind: str, namespace: str, name: str = "") -> str:
    group = "/api/v1" if kind in ("pods", "events", "nodes") else "/apis/apps/v1"
    where = f"/namespaces/{namespace}" if namespace and kind != "nodes" else ""
    return f"GET {group}{where}/{kind}" + (f"/{name}" if name else "")


def workload(api: Any, namespace: str, labels: Labels, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """The Deployment or StatefulSet behind the alert: replicas wanted and available, images, conditions.

    Use it to see whether the workload is short of ready replicas, mid-rollout (observed_generation behind
    generation, updated < desired) or running an unexpected image. `no_data` when no workload matches the
    alert's labels (deployment, statefulset, service, app, pod).
    """
    tool, query = "kubernetes.workload", _path("deployments", namespace) + f" (labels {dict(labels)})"

    def body() -> Evidence:
        found = find_workload(api, namespace, labels, timeout_s)
        if found is None:
            return result(tool, "no_data", query, summary="no Deployment or StatefulSet matches the alert")
        obj, status = found.obj, found.obj.status
        data = {
            "kind": found.kind, "name": found.name, "namespace": namespace,
            "revision": (obj.metadata.annotations or {}).get(REVISION, ""),
            "generation": obj.metadata.generation,
            "observed_generation": status.observed_generation if status else None,
            "replicas": {"desired": obj.spec.replicas, "ready": (status and status.ready_replicas) or 0,
                         "available": (status and getattr(status, "available_replicas", None)) or 0,
                         "updated": (status and status.updated_replicas) or 0},
            "images": [c.image for c in obj.spec.template.spec.containers],
            "selector": found.selector,
            "conditions": [{"type": c.type, "status": c.status, "reason": c.reason or "", "message": c.message or ""}
                           for c in (status.conditions or [] if status else [])],
        }
        r = data["replicas"]
        return result(tool, "ok", _path(found.kind.lower() + "s", namespace, found.name), data=data,
                      summary=f"{found.kind} {found.name}: {r['available']}/{r['desired']} available")

    return _run(tool, query, api, body)


def _pods(api: Any, namespace: str, labels: Labels, timeout_s: float) -> tuple[Workload | None, list[Any]]:
    return _share(_key("pods", api, namespace, labels, timeout_s),
                  lambda: _list_pods(api, namespace, labels, timeout_s))


def _list_pods(api: Any, namespace: str, labels: Labels, timeout_s: float) -> tuple[Workload | None, list[Any]]:
    core: Any = k8s.CoreV1Api(api)
    found = find_workload(api, namespace, labels, timeout_s)
    if found is not None and found.selector:
        selector = ",".join(f"{k}={v}" for k, v in sorted(found.selector.items()))
        listed = core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=timeout_s).items
        wanted = found.selector.items()
        return found, [p for p in listed if wanted <= (p.metadata.labels or {}).items()]
    if labels.get("pod"):
        pod = _read_or_none(core.read_namespaced_pod, labels["pod"], namespace, _request_timeout=timeout_s)
        return found, [pod] if pod is not None else []
    return found, []


def workload_pods(api: Any, namespace: str, labels: Labels, timeout_s: float) -> list[Any]:
    """The pods (client model objects) of the workload behind the alert, or the labelled pod."""
    return _pods(api, namespace, labels, timeout_s)[1]


def _container(status: Any) -> dict[str, Any]:
    state, reason, message = "unknown", "", ""
    if status.state is not None:
        for name in ("running", "waiting", "terminated"):
            part = getattr(status.state, name)
            if part is not None:
                state, reason, message = name, getattr(part, "reason", "") or "", getattr(part, "message", "") or ""
                break
    last = status.last_state.terminated if status.last_state is not None else None
    return {"name": status.name, "image": status.image, "ready": bool(status.ready),
            "restarts": status.restart_count or 0, "state": state, "reason": reason, "message": message[:300],
            "last_termination": {"reason": last.reason or "", "exit_code": last.exit_code,
                                 "finished_at": _iso(last.finished_at)} if last is not None else None}


def pods(api: Any, namespace: str, labels: Labels, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """The pods of the workload behind the alert, with each container's state and last termination reason.

    Use it to see crash loops (waiting: CrashLoopBackOff), OOM kills (last_termination.reason: OOMKilled,
    exit_code 137), image pull failures, pods not ready, and which node each pod runs on.
    """
    tool, query = "kubernetes.pods", _path("pods", namespace)

    def body() -> Evidence:
        found, items = _pods(api, namespace, labels, timeout_s)
        out = []
        for pod in items[:MAX_PODS]:
            statuses = (pod.status.container_statuses or []) if pod.status else []
            containers = [_container(s) for s in statuses]
            out.append({"name": pod.metadata.name, "node": pod.spec.node_name if pod.spec else None,
                        "phase": pod.status.phase if pod.status else None,
                        "ready": bool(containers) and all(c["ready"] for c in containers),
                        "restarts": sum(c["restarts"] for c in containers),
                        "started": _iso(pod.status.start_time if pod.status else None), "containers": containers})
        q = query + (f"?labelSelector={','.join(f'{k}={v}' for k, v in found.selector.items())}" if found else "")
        if not out:
            return result(tool, "no_data", q, summary="no pods found for the alert")
        unready = sum(1 for p in out if not p["ready"])
        return result(tool, "ok", q, data={"pods": out},
                      summary=f"{len(out)} pods, {unready} not ready, {sum(p['restarts'] for p in out)} restarts")

    return _run(tool, query, api, body)


def events(api: Any, namespace: str, labels: Labels, at: datetime, *, lookback_s: float = 3600.0,
           timeout_s: float = 10.0) -> Evidence:
    """Recent Kubernetes events about the workload, its ReplicaSets and pods (Warnings first, newest first).

    Use it for what Kubernetes itself reported: BackOff, OOMKilling, FailedScheduling, Unhealthy (failed
    probes), FailedMount, evictions, scaling. Only events seen within `lookback_s` before the instant count.
    """
    tool, query = "kubernetes.events", _path("events", namespace)

    def body() -> Evidence:
        found = find_workload(api, namespace, labels, timeout_s)
        prefix = found.name if found else (labels.get("pod") or labels.get("service") or labels.get("app") or "")
        listed: Any = k8s.CoreV1Api(api).list_namespaced_event(namespace, _request_timeout=timeout_s).items
        start, end = at - timedelta(seconds=lookback_s), at + timedelta(minutes=1)
        out = []
        for ev in listed:
            seen = ev.last_timestamp or ev.event_time or ev.first_timestamp or ev.metadata.creation_timestamp
            target = ev.involved_object.name or "" if ev.involved_object else ""
            if prefix and not target.startswith(prefix):
                continue
            if seen is not None and not (start <= seen <= end):
                continue
            out.append({"last_seen": _iso(seen), "type": ev.type or "", "reason": ev.reason or "",
                        "object": f"{ev.involved_object.kind}/{target}" if ev.involved_object else "",
                        "message": (ev.message or "")[:300], "count": ev.count or 1})
        out.sort(key=lambda e: e["last_seen"] or "", reverse=True)
        out.sort(key=lambda e: e["type"] != "Warning")
        if not out:
            return result(tool, "no_data", query, summary="no recent events for the workload")
        warnings = sum(1 for e in out if e["type"] == "Warning")
        return result(tool, "ok", query, data={"events": out[:MAX_EVENTS]},
                      summary=f"{len(out)} events, {warnings} warnings")

    return _run(tool, query, api, body)


def replica_sets(api: Any, namespace: str, deployment: Any, timeout_s: float) -> list[dict[str, Any]]:
    """The ReplicaSet revisions of a Deployment (client model object), newest first."""
    selector = ",".join(f"{k}={v}" for k, v in sorted((deployment.spec.selector.match_labels or {}).items()))
    listed: Any = k8s.AppsV1Api(api).list_namespaced_replica_set(namespace, label_selector=selector or None,
                                                            _request_timeout=timeout_s).items
    out = []
    for rs in listed:
        owners = rs.metadata.owner_references or []
        if not (deployment.spec.selector.match_labels or {}).items() <= (rs.metadata.labels or {}).items():
            continue
        if owners and not any(o.kind == "Deployment" and o.name == deployment.metadata.name for o in owners):
            continue
        revision = (rs.metadata.annotations or {}).get(REVISION, "")
        out.append({"revision": int(revision) if revision.isdigit() else None, "replicaset": rs.metadata.name,
                    "created": _iso(rs.metadata.creation_timestamp),
                    "images": [c.image for c in rs.spec.template.spec.containers] if rs.spec.template else [],
                    "replicas": (rs.status.replicas if rs.status else 0) or 0,
                    "ready": (rs.status.ready_replicas if rs.status else 0) or 0})
    out.sort(key=lambda r: (r["revision"] or 0, r["created"] or ""), reverse=True)
    return out


def rollouts(api: Any, namespace: str, labels: Labels, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """The rollout history of the Deployment behind the alert: ReplicaSet revisions with times and images.

    Use it to see whether a rollout happened shortly before the alert (the newest revision's `created`), what
    image it brought, and which revision a rollback would return to (the one before `current_revision`).
    """
    tool, query = "kubernetes.rollouts", _path("replicasets", namespace)

    def body() -> Evidence:
        found = find_workload(api, namespace, labels, timeout_s)
        if found is None or found.kind != "Deployment":
            return result(tool, "no_data", query, summary="no Deployment matches the alert")
        revisions = replica_sets(api, namespace, found.obj, timeout_s)
        current = (found.obj.metadata.annotations or {}).get(REVISION, "")
        data = {"deployment": found.name, "current_revision": int(current) if current.isdigit() else None,
                "revisions": revisions}
        if not revisions:
            return result(tool, "no_data", query, data=data, summary=f"no ReplicaSets for {found.name}")
        newest = revisions[0]
        return result(tool, "ok", query, data=data,
                      summary=f"{len(revisions)} revisions; newest {newest['revision']} created {newest['created']}")

    return _run(tool, query, api, body)


def nodes(api: Any, namespace: str, labels: Labels, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """The nodes running the workload's pods (the alert's `node` label first; every node if there are none),
    with their abnormal conditions.

    Use it to tell a node problem (NotReady, MemoryPressure, DiskPressure, cordoned) from an application one:
    `problems` lists conditions other than Ready=True and *Pressure=False; `pods` the workload's pods there.
    """
    tool, query = "kubernetes.nodes", _path("nodes", "")

    def body() -> Evidence:
        _, items = _pods(api, namespace, labels, timeout_s) if namespace else (None, [])
        placed: dict[str, list[str]] = {labels["node"]: []} if labels.get("node") else {}
        for pod in items:
            if pod.spec and pod.spec.node_name:
                placed.setdefault(pod.spec.node_name, []).append(pod.metadata.name)
        core: Any = k8s.CoreV1Api(api)
        if placed:
            found = [_read_or_none(core.read_node, n, _request_timeout=timeout_s) for n in placed]
            listed = [n for n in found if n is not None]
        else:
            listed = core.list_node(_request_timeout=timeout_s).items
        out = []
        for node in listed:
            conditions = (node.status.conditions or []) if node.status else []
            problems = [{"type": c.type, "status": c.status, "reason": c.reason or "",
                         "message": (c.message or "")[:200]}
                        for c in conditions if (c.type == "Ready") != (c.status == "True")]
            ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            out.append({"name": node.metadata.name, "ready": ready,
                        "unschedulable": bool(node.spec and node.spec.unschedulable), "problems": problems,
                        "pods": placed.get(node.metadata.name, [])})
        out.sort(key=lambda n: (not n["problems"], n["name"]))
        if not out:
            return result(tool, "no_data", query, summary="no nodes")
        bad = sum(1 for n in out if n["problems"] or not n["ready"])
        return result(tool, "ok", query, data={"nodes": out[:MAX_PODS]},
                      summary=f"{len(out)} nodes, {bad} with problems")

    return _run(tool, query, api, body)


_USED = {"CoreV1Api": ("list_namespaced_pod", "read_namespaced_pod", "list_namespaced_event", "read_node", "list_node",
                       "read_namespaced_pod_log"),
         "AppsV1Api": ("read_namespaced_deployment", "read_namespaced_stateful_set", "read_namespaced_replica_set",
                       "list_namespaced_deployment", "list_namespaced_replica_set")}
_MODELS = ("V1Pod", "V1PodList", "V1Deployment", "V1DeploymentList", "V1StatefulSet", "V1ReplicaSet",
           "V1ReplicaSetList", "CoreV1EventList", "V1Node", "V1NodeList")


def warm_up() -> float:
    """Build the official client's deferred pydantic validators for the calls these tools make; seconds taken.

    Without it the first call of each API method costs 1-2 s (schema building), which would land on the first
    incident's investigation. Connects to nothing. Never raises.
    """
    started = time.monotonic()
    try:
        for name in _MODELS:
            getattr(k8s, name).model_rebuild(force=True)
        for api, methods in _USED.items():
            for method in methods:
                getattr(getattr(k8s, api), method).__pydantic_validator__  # noqa: B018 (building it is the point)
    except Exception as exc:  # a newer client may differ: the first call then pays the cost, nothing breaks
        log.debug("Kubernetes client warm-up skipped: %s", exc)
    return time.monotonic() - started
