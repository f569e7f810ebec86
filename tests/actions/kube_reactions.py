"""What a real API server does that kmock does not, added for these tests only (production code keeps the
standard calls): `dryRun=All` answers with the would-be object and stores nothing; a spec change bumps
`metadata.generation`; JSON merge patches honour `null` as deletion (kmock's default); and a tiny rollout
"controller" marks a Deployment's or StatefulSet's rollout complete after each spec change, unless
`stuck` names it (then its pods never become ready).

`ClusterEmulator.writes(...)` counts the write requests that reached it (dry runs excluded), which the crash and
concurrency tests compare with what the code should have done.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp.web
import attrs
import kmock
from kubernetes import client as k8s

WORKLOADS = ("deployments", "statefulsets")
WRITE_METHODS = {"PATCH", "PUT", "POST", "DELETE"}
RESOURCES = [("apps", "v1", "deployments"), ("apps", "v1", "statefulsets"), ("apps", "v1", "replicasets"),
             ("", "v1", "pods"), ("", "v1", "nodes"), ("", "v1", "configmaps")]
PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets",
           "Pod": "pods", "Node": "nodes", "ConfigMap": "configmaps"}


def merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


@attrs.define(kw_only=True)
class ClusterEmulator(kmock.KubernetesEmulator):
    stuck: set[str] = attrs.field(factory=set)
    """Names of workloads whose rollouts never complete."""
    namespaces: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    """Namespace objects by name (kmock cannot route `/api/v1/namespaces/NAME`, so they are served here)."""

    def hold(self, obj: dict[str, Any]) -> None:
        """Seed an object as the API would hold it (seeding sends no request, so it is no write)."""
        group, _, version = obj["apiVersion"].rpartition("/")
        kind = obj["kind"]
        if kind == "Namespace":
            self.namespaces[obj["metadata"]["name"]] = obj
            return
        plural = PLURALS[kind]
        self.objects[(kmock.resource(group, version, plural), obj["metadata"].get("namespace"),
                      obj["metadata"]["name"])] = copy.deepcopy(obj)

    def held(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object the emulator holds now, or None."""
        for (resource, ns, obj_name), obj in self.objects.items():
            if resource.plural == PLURALS[kind] and ns == namespace and obj_name == name and not obj.deleted:
                return dict(obj.raw)
        return None

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        path = request.url.path.strip("/").split("/")
        if path[:3] == ["api", "v1", "namespaces"] and len(path) == 4 and request.method == kmock.method.GET:
            found = self.namespaces.get(path[3])
            if found is None:
                return aiohttp.web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
            return aiohttp.web.json_response(found)
        plural = getattr(request.resource, "plural", None)
        current: dict[str, Any] | None = None
        if request.resource is not None and request.name:
            key = (request.resource, request.namespace, request.name)
            if key in self.objects and not self.objects[key].deleted:
                current = self.objects[key].raw
        if request.params.get("dryRun") and request.action in (kmock.action.UPDATE, kmock.action.DELETE):
            if current is None:
                return aiohttp.web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
            body = merge(current, request.data) if request.action == kmock.action.UPDATE else current
            return aiohttp.web.json_response(self._as_controller_would(plural, current, body, dry=True))
        if request.action == kmock.action.UPDATE and current is not None and isinstance(request.data, dict):
            after = self._as_controller_would(plural, current, merge(current, request.data), dry=False)
            extra = {k: after[k] for k in ("metadata", "status") if k in after and after[k] != current.get(k)}
            if extra:
                request.data.update(merge({k: request.data.get(k) for k in extra}, extra))
        return await super()._handle(request)

    def _as_controller_would(self, plural: str | None, before: dict[str, Any], after: dict[str, Any],
                             *, dry: bool) -> dict[str, Any]:
        if plural not in WORKLOADS or before.get("spec") == after.get("spec"):
            return after
        after = copy.deepcopy(after)
        meta = after.setdefault("metadata", {})
        meta["generation"] = int(before.get("metadata", {}).get("generation", 1)) + 1
        if not dry:
            replicas = int(after.get("spec", {}).get("replicas", 1))
            ready = 0 if meta.get("name") in self.stuck else replicas
            after["status"] = {"observedGeneration": meta["generation"], "replicas": replicas,
                               "updatedReplicas": ready, "readyReplicas": ready, "availableReplicas": ready}
        return after

    def writes(self, *, name: str | None = None, since: int = 0) -> int:
        """Write requests (not dry runs) that reached the emulator, optionally for one object name."""
        return sum(1 for r in list(self)[since:]
                   if r.method.value in WRITE_METHODS and not r.params.get("dryRun")
                   and (name is None or r.name == name))


@contextmanager
def running_cluster() -> Iterator[tuple[ClusterEmulator, str]]:
    """Start the emulator on a free local port in a background event loop; yield it with its URL."""
    loop = asyncio.new_event_loop()
    emulator = ClusterEmulator()
    emulator.fallback << 404  # unknown paths: a plain 404, as a real server would say
    for group, version, plural in RESOURCES:
        emulator.resources[kmock.resource(group, version, plural)] = {}  # type: ignore[assignment]
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None
    box: dict[str, Any] = {}

    async def serve() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with emulator, kmock.Server(emulator) as server:
            box["url"] = str(server.url).rstrip("/")
            ready.set()
            await stop

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the Kubernetes emulator did not start")
    try:
        yield emulator, box["url"]
    finally:
        loop.call_soon_threadsafe(lambda: stop.set_result(None) if stop and not stop.done() else None)
        thread.join(10)
        loop.close()


def api_client(url: str) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    configuration.host = url
    return k8s.ApiClient(configuration)
