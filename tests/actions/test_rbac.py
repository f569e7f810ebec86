"""deploy/rbac.yaml grants exactly the verbs the action catalog (and the namespace-label lookup) uses: every
action's preview, plan, execute, check and revert run against the emulator, and the requests it received are
compared with the manifest's rules — nothing missing, nothing extra."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kmock
import yaml
from kubernetes import client as k8s

from tests.actions.conftest import deployment
from tests.actions.kube_reactions import ClusterEmulator, api_client
from tools.actions import Catalog

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RUNS: list[tuple[str, dict[str, Any]]] = [
    ("k8s.rollout_restart", {"namespace": "prod", "kind": "Deployment", "name": "chat"}),
    ("k8s.scale", {"namespace": "prod", "kind": "Deployment", "name": "chat", "replicas": 4}),
    ("k8s.rollout_restart", {"namespace": "prod", "kind": "StatefulSet", "name": "vectordb"}),
    ("k8s.scale", {"namespace": "prod", "kind": "StatefulSet", "name": "vectordb", "replicas": 2}),
    ("k8s.rollback", {"namespace": "prod", "name": "chat"}),
    ("k8s.cordon", {"node": "gpu-1"}),
    ("k8s.delete_pod", {"namespace": "prod", "pod": "chat-abc"}),
    ("provider.failover", {"namespace": "prod", "service": "chat"}),
    ("model.rollback", {"namespace": "prod", "service": "chat"}),
    ("prompt.rollback", {"namespace": "prod", "service": "chat", "prompt": "summarize", "to_version": "v12"}),
    ("traffic.shed", {"namespace": "prod", "service": "chat", "pause": True}),
]


def granted() -> set[tuple[str, str, str]]:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))
    [role] = [d for d in docs if d["kind"] == "ClusterRole"]
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def verb(request: kmock.Request) -> str:
    method = request.method.value
    if method == "GET":
        return "get" if request.name else "list"
    return {"PATCH": "patch", "DELETE": "delete", "POST": "create", "PUT": "update"}[method]


def used(emulator: ClusterEmulator) -> set[tuple[str, str, str]]:
    out = set()
    for request in emulator:
        path = request.url.path.strip("/").split("/")
        if path[:3] == ["api", "v1", "namespaces"] and len(path) == 4:
            out.add(("", "namespaces", "get"))
        elif request.resource is not None:
            out.add((request.resource.group or "", request.resource.plural or "", verb(request)))
    return out


def test_rbac_grants_exactly_the_calls_the_actions_make(cluster: tuple[ClusterEmulator, str],
                                                         catalog: Catalog) -> None:
    emulator, url = cluster
    statefulset = deployment("vectordb")
    statefulset["kind"] = "StatefulSet"
    emulator.hold(statefulset)
    for name, raw in RUNS:
        action = catalog.get(name)
        params = action.params(raw)
        action.snapshot(params)
        action.preview(params)
        plan = action.plan(params, NOW)
        action.apply(plan)
        action.applied(plan)
        action.check(plan)
        if action.revertible:
            action.revert(plan)
    k8s.CoreV1Api(api_client(url)).read_namespace("prod")  # what the decide node does for the policy
    assert used(emulator) == granted()
