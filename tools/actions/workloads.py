"""`k8s.rollout_restart`, `k8s.scale` and `k8s.rollback`: Deployment and StatefulSet changes through
standard patches (the same ones `kubectl rollout restart`, `kubectl scale` and `kubectl rollout undo` make)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tools.actions.base import Action, ActionError, Check, Params, Preview
from tools.actions.kube import RESTARTED_AT, REVISION, Kube, diff, merge_diff, rollout, workload_snapshot

Kind = Literal["Deployment", "StatefulSet"]


class WorkloadParams(Params):
    namespace: str = Field(min_length=1)
    kind: Kind = "Deployment"
    name: str = Field(min_length=1)


class ScaleParams(WorkloadParams):
    replicas: int = Field(ge=0, le=10_000)


class RollbackParams(Params):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    to_revision: int | None = Field(None, ge=1)


class _Workload(Action):
    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def target(self, params: Any) -> str:
        return f"{params.namespace}/{getattr(params, 'kind', 'Deployment')}/{params.name}"

    def snapshot(self, params: Any) -> dict[str, Any]:
        return workload_snapshot(self.kube.workload(getattr(params, "kind", "Deployment"), params.namespace,
                                                    params.name))

    def _preview(self, kind: str, namespace: str, name: str, patch: dict[str, Any]) -> Preview:
        before = self.kube.workload(kind, namespace, name)
        after = self.kube.patch_workload(kind, namespace, name, patch, dry_run=True)
        changes = diff(before, after)
        summary = "; ".join(f"{c['path']}: {c['before']!r} → {c['after']!r}" for c in changes) or "no change"
        return Preview(summary=f"{kind} {namespace}/{name}: {summary}", diff=changes,
                       snapshot=workload_snapshot(before))

    def check(self, plan: Mapping[str, Any]) -> Check:
        status, detail = rollout(self.kube.workload(plan["kind"], plan["namespace"], plan["name"]))
        return Check("ok" if status == "ok" else "pending", detail)


class RolloutRestart(_Workload):
    """Restart every pod of a Deployment or StatefulSet by stamping the pod template (new rollout)."""

    name = "k8s.rollout_restart"
    params_model = WorkloadParams

    def _patch(self, stamp: str | None) -> dict[str, Any]:
        return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}

    def preview(self, params: Any) -> Preview:
        return self._preview(params.kind, params.namespace, params.name, self._patch("(now)"))

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        obj = self.kube.workload(params.kind, params.namespace, params.name)
        annotations = obj["spec"]["template"].get("metadata", {}).get("annotations") or {}
        return {"kind": params.kind, "namespace": params.namespace, "name": params.name,
                "stamp": now.isoformat(), "previous_stamp": annotations.get(RESTARTED_AT)}

    def apply(self, plan: Mapping[str, Any]) -> None:
        self.kube.patch_workload(plan["kind"], plan["namespace"], plan["name"], self._patch(plan["stamp"]))

    def applied(self, plan: Mapping[str, Any]) -> bool:
        obj = self.kube.workload(plan["kind"], plan["namespace"], plan["name"])
        annotations = obj["spec"]["template"].get("metadata", {}).get("annotations") or {}
        return bool(annotations.get(RESTARTED_AT) == plan["stamp"])

    def revert(self, plan: Mapping[str, Any]) -> str:
        # Pods cannot be un-restarted; restoring the annotation rolls the pods once more, as before.
        self.kube.patch_workload(plan["kind"], plan["namespace"], plan["name"], self._patch(plan["previous_stamp"]))
        return "restored the pod template's previous restart annotation (pods roll again)"


class Scale(_Workload):
    """Set the replica count of a Deployment or StatefulSet (policy limits apply)."""

    name = "k8s.scale"
    params_model = ScaleParams

    def preview(self, params: Any) -> Preview:
        return self._preview(params.kind, params.namespace, params.name, {"spec": {"replicas": params.replicas}})

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        obj = self.kube.workload(params.kind, params.namespace, params.name)
        return {"kind": params.kind, "namespace": params.namespace, "name": params.name,
                "replicas": params.replicas, "previous_replicas": obj["spec"].get("replicas", 1)}

    def apply(self, plan: Mapping[str, Any]) -> None:
        self.kube.patch_workload(plan["kind"], plan["namespace"], plan["name"],
                                 {"spec": {"replicas": plan["replicas"]}})

    def applied(self, plan: Mapping[str, Any]) -> bool:
        obj = self.kube.workload(plan["kind"], plan["namespace"], plan["name"])
        return bool(obj["spec"].get("replicas") == plan["replicas"])

    def revert(self, plan: Mapping[str, Any]) -> str:
        self.kube.patch_workload(plan["kind"], plan["namespace"], plan["name"],
                                 {"spec": {"replicas": plan["previous_replicas"]}})
        return f"replicas back to {plan['previous_replicas']}"


class Rollback(_Workload):
    """Put a Deployment's pod template back to a previous ReplicaSet revision (`kubectl rollout undo`)."""

    name = "k8s.rollback"
    params_model = RollbackParams

    def _revisions(self, namespace: str, name: str) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
        deployment = self.kube.workload("Deployment", namespace, name)
        uid = deployment["metadata"].get("uid")
        found: dict[int, dict[str, Any]] = {}
        for rs in self.kube.apps.list_namespaced_replica_set(namespace).items:
            plain = self.kube.plain(rs)
            owners = plain["metadata"].get("ownerReferences") or []
            if not any(o.get("kind") == "Deployment" and (o.get("uid") == uid or o.get("name") == name)
                       for o in owners):
                continue
            revision = (plain["metadata"].get("annotations") or {}).get(REVISION)
            if revision and revision.isdigit():
                found[int(revision)] = plain
        return deployment, found

    def _target_template(self, params: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
        deployment, revisions = self._revisions(params.namespace, params.name)
        current = int((deployment["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
        if not current and revisions:
            current = max(revisions)
        if params.to_revision is not None:
            revision = params.to_revision
        else:
            older = [r for r in revisions if r < current] if current else sorted(revisions)[:-1]
            if not older:
                raise ActionError(f"Deployment {params.namespace}/{params.name} has no previous revision")
            revision = max(older)
        if revision not in revisions:
            raise ActionError(f"Deployment {params.namespace}/{params.name} has no revision {revision} "
                              f"(known: {sorted(revisions)})")
        template = copy.deepcopy(revisions[revision]["spec"]["template"])
        labels = template.get("metadata", {}).get("labels") or {}
        labels.pop("pod-template-hash", None)
        return deployment, template, revision

    def preview(self, params: Any) -> Preview:
        deployment, template, revision = self._target_template(params)
        patch = {"spec": {"template": merge_diff(deployment["spec"]["template"], template)}}
        shown = self._preview("Deployment", params.namespace, params.name, patch)
        return Preview(summary=f"to revision {revision}: {shown.summary}", diff=shown.diff, snapshot=shown.snapshot)

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        deployment, template, revision = self._target_template(params)
        return {"kind": "Deployment", "namespace": params.namespace, "name": params.name, "to_revision": revision,
                "template": template, "previous_template": deployment["spec"]["template"]}

    def _set_template(self, plan: Mapping[str, Any], template: dict[str, Any]) -> None:
        current = self.kube.workload("Deployment", plan["namespace"], plan["name"])["spec"]["template"]
        self.kube.patch_workload("Deployment", plan["namespace"], plan["name"],
                                 {"spec": {"template": merge_diff(current, template)}})

    def apply(self, plan: Mapping[str, Any]) -> None:
        self._set_template(plan, plan["template"])

    def applied(self, plan: Mapping[str, Any]) -> bool:
        current = self.kube.workload("Deployment", plan["namespace"], plan["name"])["spec"]["template"]
        return not merge_diff(current, plan["template"])

    def revert(self, plan: Mapping[str, Any]) -> str:
        self._set_template(plan, plan["previous_template"])
        return "pod template restored to what it was before the rollback"
