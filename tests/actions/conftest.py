from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.actions.kube_reactions import ClusterEmulator, api_client, running_cluster
from tools.actions import Catalog, build_catalog


def deployment(name: str = "chat", image: str = "registry.local/chat:2.0.0", replicas: int = 3,
               namespace: str = "prod", revision: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": 4,
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"observedGeneration": 4, "replicas": replicas, "updatedReplicas": replicas,
                   "readyReplicas": replicas, "availableReplicas": replicas},
    }


def replica_set(deploy: str, revision: int, image: str, namespace: str = "prod") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{deploy}-rev{revision}", "namespace": namespace,
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy,
                                          "uid": f"uid-{deploy}", "controller": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": deploy, "pod-template-hash": f"h{revision}"}},
                 "template": {"metadata": {"labels": {"app": deploy, "pod-template-hash": f"h{revision}"}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def routing_configmap(service: str = "chat", namespace: str = "prod") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{service}-llm-routing", "namespace": namespace},
            "data": {"provider": "openai", "fallback_provider": "anthropic", "model_version": "2025-04-14",
                     "previous_model_version": "2024-11-20", "prompt.summarize": "v13",
                     "previous_prompt.summarize": "v12"}}


def seed(emulator: ClusterEmulator) -> None:
    emulator.hold({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {}}})
    emulator.hold({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "payments", "labels": {"opsmedic.io/protected": "true"}}})
    emulator.hold(deployment())
    emulator.hold(replica_set("chat", 1, "registry.local/chat:1.9.0"))
    emulator.hold(replica_set("chat", 2, "registry.local/chat:2.0.0"))
    emulator.hold({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1"}, "spec": {}})
    emulator.hold({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "chat-abc", "namespace": "prod", "uid": "pod-uid-1",
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                    "name": "chat-rev2", "uid": "rs2"}]},
                  "spec": {"containers": [{"name": "app", "image": "registry.local/chat:2.0.0"}]}})
    emulator.hold(routing_configmap())


@pytest.fixture
def cluster() -> Iterator[tuple[ClusterEmulator, str]]:
    with running_cluster() as (emulator, url):
        seed(emulator)
        yield emulator, url


@pytest.fixture
def catalog(cluster: tuple[ClusterEmulator, str]) -> Catalog:
    return build_catalog(api_client(cluster[1]))
