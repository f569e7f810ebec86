"""Kubernetes helpers shared by the `k8s.*` actions: API handles, reading objects as plain dicts, diffs and
JSON merge patches (sent as `application/merge-patch+json`, which every API server accepts)."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tools.actions.base import ActionError

MERGE_PATCH = "application/merge-patch+json"
IGNORED = {"managedFields", "resourceVersion", "uid", "creationTimestamp", "selfLink", "generation"}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"


class Kube:
    """The typed API groups over one `kubernetes.client.ApiClient`."""

    def __init__(self, api_client: Any) -> None:
        if api_client is None:
            raise ActionError("Kubernetes is not configured (set kubeconfig or kubernetes_url)")
        self.api_client = api_client
        self.apps = k8s.AppsV1Api(api_client)
        self.core = k8s.CoreV1Api(api_client)

    def plain(self, obj: Any) -> dict[str, Any]:
        return dict(self.api_client.sanitize_for_serialization(obj))

    def workload(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        try:
            if kind == "StatefulSet":
                return self.plain(self.apps.read_namespaced_stateful_set(name, namespace))
            return self.plain(self.apps.read_namespaced_deployment(name, namespace))
        except ApiException as exc:
            raise _not_found(exc, f"{kind} {namespace}/{name}") from exc

    def patch_workload(self, kind: str, namespace: str, name: str, body: dict[str, Any], *,
                       dry_run: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        out: Any
        try:
            if kind == "StatefulSet":
                out = self.apps.patch_namespaced_stateful_set(name, namespace, body, _content_type=MERGE_PATCH,
                                                              **extra)
            else:
                out = self.apps.patch_namespaced_deployment(name, namespace, body, _content_type=MERGE_PATCH,
                                                            **extra)
        except ApiException as exc:
            raise _not_found(exc, f"{kind} {namespace}/{name}") from exc
        return self.plain(out)


def _not_found(exc: ApiException, what: str) -> ActionError:
    if exc.status == 404:
        return ActionError(f"{what} does not exist")
    return ActionError(f"the Kubernetes API refused the call on {what}: {exc.status} {exc.reason}")


def workload_snapshot(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    return {"generation": obj.get("metadata", {}).get("generation"),
            "images": [c.get("image") for c in containers],
            "replicas": obj.get("spec", {}).get("replicas")}


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Leaf differences between two objects, ignoring bookkeeping fields and status."""
    if isinstance(before, dict) or isinstance(after, dict):
        before = before if isinstance(before, dict) else ({} if before is None else {"": before})
        after = after if isinstance(after, dict) else ({} if after is None else {"": after})
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after)):
            if key in IGNORED or (not path and key == "status"):
                continue
            out += diff(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if before == after else [{"path": path, "before": before, "after": after}]


def merge_diff(current: Any, target: Any) -> Any:
    """The JSON merge patch that turns `current` into `target` (None deletes a key; lists are replaced)."""
    if not isinstance(current, dict) or not isinstance(target, dict):
        return target
    patch: dict[str, Any] = {}
    for key in set(current) | set(target):
        if key not in target:
            patch[key] = None
        elif key not in current:
            patch[key] = target[key]
        elif current[key] != target[key]:
            patch[key] = merge_diff(current[key], target[key])
    return patch


def rollout(obj: dict[str, Any]) -> tuple[str, str]:
    """`kubectl rollout status` for a Deployment or StatefulSet: (`ok`|`pending`, detail)."""
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return "pending", "waiting for the controller to observe the new spec"
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("availableReplicas") or status.get("readyReplicas") or 0)
    if updated < want:
        return "pending", f"{updated} of {want} replicas updated"
    if ready < want:
        return "pending", f"{ready} of {want} updated replicas available"
    return "ok", f"rollout complete: {want} replicas updated and available"
