"""`k8s.cordon` (mark a Node unschedulable) and `k8s.delete_pod` (delete one stuck Pod)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from pydantic import Field

from tools.actions.base import Action, ActionError, Check, Params, Preview
from tools.actions.kube import MERGE_PATCH, Kube, diff


class CordonParams(Params):
    node: str = Field(min_length=1)


class DeletePodParams(Params):
    namespace: str = Field(min_length=1)
    pod: str = Field(min_length=1)


class Cordon(Action):
    """Mark a Node unschedulable, as `kubectl cordon` does; its running pods stay."""

    name = "k8s.cordon"
    params_model = CordonParams

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def _node(self, name: str) -> dict[str, Any]:
        try:
            return self.kube.plain(self.kube.core.read_node(name))
        except ApiException as exc:
            raise ActionError(f"Node {name} cannot be read: {exc.status} {exc.reason}") from exc

    def _patch(self, name: str, unschedulable: bool | None, *, dry_run: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        out = self.kube.core.patch_node(name, {"spec": {"unschedulable": unschedulable}},
                                        _content_type=MERGE_PATCH, **extra)
        return self.kube.plain(out)

    def target(self, params: Any) -> str:
        return f"Node/{params.node}"

    def snapshot(self, params: Any) -> dict[str, Any]:
        node = self._node(params.node)
        return {"generation": node["metadata"].get("generation"),
                "unschedulable": bool(node.get("spec", {}).get("unschedulable"))}

    def preview(self, params: Any) -> Preview:
        before = self._node(params.node)
        after = self._patch(params.node, True, dry_run=True)
        changes = diff(before, after)
        return Preview(summary=f"Node {params.node}: " + ("; ".join(f"{c['path']}: {c['before']!r} → {c['after']!r}"
                                                                    for c in changes) or "already cordoned"),
                       diff=changes, snapshot=self.snapshot(params))

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        return {"node": params.node, "was_unschedulable": bool(self._node(params.node).get("spec", {})
                                                                .get("unschedulable"))}

    def apply(self, plan: Mapping[str, Any]) -> None:
        self._patch(plan["node"], True)

    def applied(self, plan: Mapping[str, Any]) -> bool:
        return bool(self._node(plan["node"]).get("spec", {}).get("unschedulable"))

    def check(self, plan: Mapping[str, Any]) -> Check:
        if self.applied(plan):
            return Check("ok", f"Node {plan['node']} is unschedulable")
        return Check("failed", f"Node {plan['node']} is schedulable again")

    def revert(self, plan: Mapping[str, Any]) -> str:
        if plan["was_unschedulable"]:
            return f"Node {plan['node']} was already cordoned before; left as it was"
        self._patch(plan["node"], None)
        return f"Node {plan['node']} uncordoned"


class DeletePod(Action):
    """Delete one Pod (its controller replaces it). Cannot be reverted: the old pod is gone for good."""

    name = "k8s.delete_pod"
    params_model = DeletePodParams
    revertible = False

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def _pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.kube.plain(self.kube.core.read_namespaced_pod(name, namespace))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ActionError(f"Pod {namespace}/{name} cannot be read: {exc.status} {exc.reason}") from exc

    def _existing(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self._pod(namespace, name)
        if pod is None:
            raise ActionError(f"Pod {namespace}/{name} does not exist")
        return pod

    def target(self, params: Any) -> str:
        return f"{params.namespace}/Pod/{params.pod}"

    def snapshot(self, params: Any) -> dict[str, Any]:
        pod = self._existing(params.namespace, params.pod)
        return {"uid": pod["metadata"].get("uid"),
                "images": [c.get("image") for c in pod.get("spec", {}).get("containers", [])]}

    def preview(self, params: Any) -> Preview:
        pod = self._existing(params.namespace, params.pod)
        self.kube.core.delete_namespaced_pod(params.pod, params.namespace, dry_run="All")
        owners = ", ".join(f"{o.get('kind')}/{o.get('name')}" for o in pod["metadata"].get("ownerReferences") or [])
        return Preview(summary=f"Pod {params.namespace}/{params.pod} deleted"
                               + (f"; {owners} will replace it" if owners else "; nothing will replace it"),
                       diff=[{"path": "pod", "before": params.pod, "after": None}], snapshot=self.snapshot(params))

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        pod = self._existing(params.namespace, params.pod)
        return {"namespace": params.namespace, "pod": params.pod, "uid": pod["metadata"].get("uid")}

    def apply(self, plan: Mapping[str, Any]) -> None:
        try:
            self.kube.core.delete_namespaced_pod(plan["pod"], plan["namespace"])
        except ApiException as exc:
            if exc.status != 404:
                raise ActionError(f"Pod {plan['namespace']}/{plan['pod']} cannot be deleted: {exc.status}") from exc

    def applied(self, plan: Mapping[str, Any]) -> bool:
        pod = self._pod(plan["namespace"], plan["pod"])
        return pod is None or pod["metadata"].get("uid") != plan["uid"]

    def check(self, plan: Mapping[str, Any]) -> Check:
        if self.applied(plan):
            return Check("ok", f"Pod {plan['namespace']}/{plan['pod']} is gone")
        return Check("pending", f"Pod {plan['namespace']}/{plan['pod']} is still terminating")
