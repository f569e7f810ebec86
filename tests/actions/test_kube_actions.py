"""Each Kubernetes action previews (server-side dry run: nothing changes), executes, verifies and reverts,
asserted on the objects the emulator holds afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.actions.kube_reactions import ClusterEmulator
from tools.actions import ActionError, Catalog

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
Cluster = tuple[ClusterEmulator, str]


def image(emulator: ClusterEmulator) -> str:
    dep = emulator.held("Deployment", "chat", "prod")
    assert dep is not None
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def test_scale_previews_executes_verifies_reverts(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("k8s.scale")
    params = action.params({"namespace": "prod", "kind": "Deployment", "name": "chat", "replicas": 5})
    before = len(emulator)
    preview = action.preview(params)
    assert {"path": "spec.replicas", "before": 3, "after": 5} in preview.diff
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 3  # type: ignore[index]
    assert emulator.writes(since=before) == 0

    plan = action.plan(params, NOW)
    assert not action.applied(plan)
    action.apply(plan)
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 5  # type: ignore[index]
    assert action.applied(plan)
    assert action.check(plan).status == "ok"

    action.revert(plan)
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 3  # type: ignore[index]


def test_rollout_restart_stamps_the_template_and_revert_restores_it(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("k8s.rollout_restart")
    params = action.params({"namespace": "prod", "kind": "Deployment", "name": "chat"})
    preview = action.preview(params)
    assert preview.diff[0]["path"].endswith("kubectl.kubernetes.io/restartedAt")
    assert "annotations" not in emulator.held("Deployment", "chat", "prod")["spec"]["template"]["metadata"]  # type: ignore[index]

    plan = action.plan(params, NOW)
    action.apply(plan)
    dep = emulator.held("Deployment", "chat", "prod")
    assert dep is not None
    assert dep["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == NOW.isoformat()
    assert dep["metadata"]["generation"] == 5
    assert action.check(plan).status == "ok"

    action.revert(plan)
    dep = emulator.held("Deployment", "chat", "prod")
    assert dep is not None
    assert "kubectl.kubernetes.io/restartedAt" not in (dep["spec"]["template"]["metadata"].get("annotations") or {})


def test_rollout_check_waits_while_pods_are_not_ready(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    emulator.stuck.add("chat")
    action = catalog.get("k8s.rollout_restart")
    plan = action.plan(action.params({"namespace": "prod", "kind": "Deployment", "name": "chat"}), NOW)
    action.apply(plan)
    check = action.check(plan)
    assert check.status == "pending"
    assert "0 of 3" in check.detail


def test_rollback_goes_to_the_previous_revision_and_back(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("k8s.rollback")
    params = action.params({"namespace": "prod", "name": "chat"})
    preview = action.preview(params)
    assert "revision 1" in preview.summary
    assert any(d["after"] == "registry.local/chat:1.9.0" or d["after"] == [{"name": "app",
               "image": "registry.local/chat:1.9.0"}] for d in preview.diff), preview.diff
    assert image(emulator) == "registry.local/chat:2.0.0"

    plan = action.plan(params, NOW)
    action.apply(plan)
    assert image(emulator) == "registry.local/chat:1.9.0"
    labels = emulator.held("Deployment", "chat", "prod")["spec"]["template"]["metadata"]["labels"]  # type: ignore[index]
    assert labels == {"app": "chat"}  # the ReplicaSet's pod-template-hash is not copied
    assert action.applied(plan)
    assert action.check(plan).status == "ok"

    action.revert(plan)
    assert image(emulator) == "registry.local/chat:2.0.0"


def test_rollback_to_unknown_revision_is_refused(catalog: Catalog) -> None:
    action = catalog.get("k8s.rollback")
    with pytest.raises(ActionError, match="no revision 7"):
        action.preview(action.params({"namespace": "prod", "name": "chat", "to_revision": 7}))


def test_cordon_and_uncordon(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("k8s.cordon")
    params = action.params({"node": "gpu-1"})
    preview = action.preview(params)
    assert preview.diff == [{"path": "spec.unschedulable", "before": None, "after": True}]
    assert not emulator.held("Node", "gpu-1")["spec"].get("unschedulable")  # type: ignore[index]

    plan = action.plan(params, NOW)
    action.apply(plan)
    assert emulator.held("Node", "gpu-1")["spec"]["unschedulable"] is True  # type: ignore[index]
    assert action.check(plan).status == "ok"

    action.revert(plan)
    assert not emulator.held("Node", "gpu-1")["spec"].get("unschedulable")  # type: ignore[index]


def test_delete_pod_deletes_only_for_real(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("k8s.delete_pod")
    params = action.params({"namespace": "prod", "pod": "chat-abc"})
    preview = action.preview(params)
    assert "ReplicaSet/chat-rev2 will replace it" in preview.summary
    assert emulator.held("Pod", "chat-abc", "prod") is not None

    plan = action.plan(params, NOW)
    action.apply(plan)
    assert emulator.held("Pod", "chat-abc", "prod") is None
    assert action.applied(plan)
    assert action.check(plan).status == "ok"
    with pytest.raises(ActionError, match="cannot be reverted"):
        action.revert(plan)


def test_missing_target_is_a_clear_error(catalog: Catalog) -> None:
    action = catalog.get("k8s.scale")
    with pytest.raises(ActionError, match="Deployment prod/ghost does not exist"):
        action.preview(action.params({"namespace": "prod", "kind": "Deployment", "name": "ghost", "replicas": 2}))


def test_bad_parameters_name_the_field(catalog: Catalog) -> None:
    with pytest.raises(ActionError, match="replicas"):
        catalog.get("k8s.scale").params({"namespace": "prod", "kind": "Deployment", "name": "chat", "replicas": -1})
    with pytest.raises(ActionError, match="kind"):
        catalog.get("k8s.rollout_restart").params({"namespace": "prod", "kind": "DaemonSet", "name": "x"})


def test_unknown_action_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ActionError, match="not a catalog action"):
        catalog.get("k8s.exec")
