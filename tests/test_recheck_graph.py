"""The policy is asked again just before execution, with fresh inputs from the cluster, the store and the clock:
what moved while an approval waited stops the change and is named. Policy inputs come from the Namespace's
labels; an alert's labels can narrow a decision, never widen it. Real Prometheus and Kubernetes emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agent.models import Proposal
from agent.runner import Worker
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests import test_approvals_graph as graph
from tests.actions.kube_reactions import ClusterEmulator
from tests.test_approvals_graph import SCALE, T0, Clock, Pager, answer, open_and_propose, payload, propose, records

pytestmark = pytest.mark.prometheus
prometheus, cluster, store, clock, pager, worker = (graph.prometheus, graph.cluster, graph.store, graph.clock,
                                                    graph.pager, graph.worker)

ENVIRONMENTS = """
rules:
  - name: staging-scales-freely
    match: {actions: [k8s.scale], environments: [staging]}
    effect: allow
  - name: production-needs-approval
    match: {actions: [k8s.scale], environments: [production]}
    effect: require_approval
    min_approvals: 1
    approval_ttl: 30m
"""


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(graph.ROOT / "policies" / "default.yaml", folder / "50-default.yaml")
    return folder


@pytest.fixture
def settings(tmp_path: Path, policies: Path) -> Settings:
    return load_settings(env={}, data_dir=tmp_path / "data", policies_dir=policies, verify_timeout_s=1.0,
                         verify_poll_s=0.1, investigate_budget_s=5.0, tool_timeout_s=3.0)


def skipped(store: SqliteStore, incident_id: str) -> list[str]:
    return [r["detail"] for r in records(store, incident_id, "action") if r.get("event") == "skipped"]


async def test_a_freeze_that_opens_during_the_wait_stops_the_change(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], clock: Clock, pager: Pager,
    policies: Path,
) -> None:
    emulator, _ = cluster
    start, end = T0 + timedelta(minutes=5), T0 + timedelta(hours=2)
    (policies / "00-freeze.yaml").write_text(
        "rules:\n  - {name: freeze-holder, match: {actions: [read.none]}, effect: deny}\n"
        f"freeze:\n  - {{start: '{start.isoformat()}', end: '{end.isoformat()}', reason: quarter-end freeze}}\n")
    incident_id = await open_and_propose(worker, store, SCALE)
    [decision] = records(store, incident_id, "decision")
    assert decision["effect"] == "require_approval"  # decided at T0+1m, before the freeze

    clock.at = T0 + timedelta(minutes=10)
    await answer(worker, store, incident_id, "U-ALICE")

    assert emulator.writes() == 0
    [detail] = skipped(store, incident_id)
    assert "global freeze window is open: quarter-end freeze" in detail
    assert "a freeze window opened: quarter-end freeze" in detail
    assert store.intents(incident_id) == []
    assert pager.pages and "quarter-end freeze" in pager.pages[-1][1]


async def test_a_namespace_labelled_protected_during_the_wait_stops_the_change(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str]
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    emulator.hold({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": "prod", "labels": {"opsmedic.io/protected": "true"}}})
    await answer(worker, store, incident_id, "U-ALICE")
    assert emulator.writes() == 0
    [detail] = skipped(store, incident_id)
    assert "rule protected-namespaces-untouched denies this" in detail
    assert "namespace label opsmedic.io/protected: None → 'true'" in detail


def resolve(store: SqliteStore, incident_id: str) -> None:
    body = payload(graph.RECOVERING).model_dump(mode="json")
    body["status"] = "resolved"
    body["alerts"][0].update(status="resolved", endsAt=(T0 + timedelta(minutes=4)).isoformat())
    outcome = store.record_notification(AlertmanagerPayload.model_validate(body), T0, T0 + timedelta(minutes=4))
    assert outcome.incident.id == incident_id and not outcome.incident.firing


async def test_an_alert_that_resolved_during_the_wait_cancels_the_change(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str]
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    resolve(store, incident_id)
    await answer(worker, store, incident_id, "U-ALICE")
    assert emulator.writes() == 0
    [detail] = skipped(store, incident_id)
    assert "the alert resolved while the change waited" in detail


async def test_with_resolved_alert_cancels_off_the_approved_change_still_runs(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], settings: Settings
) -> None:
    emulator, _ = cluster
    worker.settings = settings.model_copy(update={"resolved_alert_cancels": False})
    incident_id = await open_and_propose(worker, store, SCALE)
    resolve(store, incident_id)
    await answer(worker, store, incident_id, "U-ALICE")
    assert emulator.writes(name="chat") >= 1
    recheck = [r for r in records(store, incident_id, "decision") if r.get("event") == "rechecked"]
    assert recheck and "the alert resolved" in recheck[0]["changed"] and not recheck[0]["refused"]


@pytest.fixture
def labelled(cluster: tuple[ClusterEmulator, str], policies: Path) -> Iterator[ClusterEmulator]:
    (policies / "00-environments.yaml").write_text(ENVIRONMENTS)
    yield cluster[0]


def with_env(namespace_env: str | None, alert_env: str | None, emulator: ClusterEmulator) -> AlertmanagerPayload:
    labels = {"environment": namespace_env} if namespace_env else {}
    emulator.hold({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": labels}})
    body = payload(graph.RECOVERING).model_dump(mode="json")
    if alert_env:
        body["commonLabels"]["env"] = alert_env
        body["alerts"][0]["labels"]["env"] = alert_env
    return AlertmanagerPayload.model_validate(body)


@pytest.mark.parametrize(("namespace_env", "alert_env", "rule"), [
    ("production", "staging", "production-needs-approval"),  # the alert cannot widen what the cluster says
    ("staging", "production", "production-needs-approval"),  # but it can narrow it
    ("staging", None, "staging-scales-freely"),
    (None, "staging", "staging-scales-freely"),  # no label on the Namespace: the alert's is all there is
])
async def test_the_environment_comes_from_the_namespace_and_alert_labels_only_narrow(
    worker: Worker, store: SqliteStore, labelled: ClusterEmulator, namespace_env: str | None,
    alert_env: str | None, rule: str,
) -> None:
    alert = with_env(namespace_env, alert_env, labelled)
    incident_id = store.record_notification(alert, T0, T0).incident.id
    await propose(worker, incident_id, Proposal(**SCALE.model_dump()))
    decision = records(store, incident_id, "decision")[0]
    assert decision["rule"] == rule
    assert decision["inputs"]["environment_source"] == ("namespace" if namespace_env else "alert")


async def test_a_forged_change_event_does_not_choose_the_rollback_target(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str]
) -> None:
    """The offline proposal carries the event's `from` as to_version; the adapter's history decides."""
    emulator, _ = cluster
    rollback = Proposal(action="prompt.rollback", params={"namespace": "prod", "service": "chat",
                                                          "prompt": "summarize", "to_version": "v0-attacker"})
    incident_id = await open_and_propose(worker, store, rollback)
    [decision] = records(store, incident_id, "decision")
    assert "prompt.summarize: 'v13' → 'v12'" in decision["preview"]
    assert "the evidence names v0-attacker as the previous version" in decision["preview"]
    await answer(worker, store, incident_id, "U-ALICE")
    routing = emulator.held("ConfigMap", "chat-llm-routing", "prod")
    assert routing is not None and routing["data"]["prompt.summarize"] == "v12"
