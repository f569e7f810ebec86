"""Guarded remediation through the whole graph, with the worker, a real Prometheus and the Kubernetes emulator:
approval, execution, verification (recovered, or worse and reverted), the stale-preview refusal, expiry,
the requester rule, the kill switch and protected namespaces — and the audit chain verifies afterwards."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from prometheus_api_client import PrometheusConnect

from agent import runner
from agent.audit import AuditLog
from agent.audit_seal import open_seal
from agent.cli import main
from agent.context import Clients
from agent.graph import SERDE, build_graph
from agent.models import Approval, Proposal
from agent.replay.prometheus import PrometheusServer
from agent.runner import Worker, submit_approval, thread_config
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests.actions.conftest import deployment, seed
from tests.actions.kube_reactions import ClusterEmulator, api_client, running_cluster

pytestmark = pytest.mark.prometheus

ROOT = Path(__file__).resolve().parents[1]
T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
"""The incident instant; verification reads the signal at the clock's time, ten minutes later."""
RECOVERING = "chat_recovering_ratio > 0.05"
WORSENING = "chat_worsening_ratio > 0.05"
SCALE = Proposal(action="k8s.scale", params={"namespace": "prod", "kind": "Deployment", "name": "chat",
                                             "replicas": 5}, reason="more capacity")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Pager:
    """Where escalations go (the notifier interface the Slack app implements)."""

    def __init__(self) -> None:
        self.pages: list[tuple[str, str]] = []

    def escalate(self, incident_id: str, reason: str) -> None:
        self.pages.append((incident_id, reason))


def series(name: str, after: float) -> tuple[str, dict[str, str], list[tuple[float, float | None]]]:
    start = T0 - timedelta(minutes=30)
    points: list[tuple[float, float | None]] = []
    for minute in range(45):
        at = start + timedelta(minutes=minute)
        points.append((at.timestamp(), 0.2 if at <= T0 else after))
    return name, {"service": "chat", "namespace": "prod"}, points


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    samples = [series("chat_recovering_ratio", 0.01), series("chat_worsening_ratio", 0.6)]
    with PrometheusServer(samples, tmp_path_factory.mktemp("prom")) as prom:
        yield prom.url


@pytest.fixture
def cluster() -> Iterator[tuple[ClusterEmulator, str]]:
    with running_cluster() as (emulator, url):
        seed(emulator)
        emulator.hold(deployment(namespace="payments"))
        yield emulator, url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={}, data_dir=tmp_path / "data", policies_dir=ROOT / "policies", verify_timeout_s=1.0,
                         verify_poll_s=0.1, investigate_budget_s=5.0, tool_timeout_s=3.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteStore]:
    s = SqliteStore(settings.sqlite_path)
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=1))


@pytest.fixture
def pager() -> Pager:
    return Pager()


@pytest.fixture
def worker(settings: Settings, store: SqliteStore, cluster: tuple[ClusterEmulator, str], prometheus: str,
           clock: Clock, pager: Pager) -> Worker:
    clients = Clients(kubernetes=api_client(cluster[1]), prometheus=PrometheusConnect(prometheus), notifier=pager)
    return Worker(settings, store, AuditLog(store, clock=clock, seal=open_seal(settings)), clients, clock=clock)


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "opsmedic.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir), "policies_dir": str(ROOT / "policies")}))
    return str(path)


def payload(expr: str, namespace: str = "prod") -> AlertmanagerPayload:
    labels = {"alertname": "ChatErrors", "service": "chat", "namespace": namespace, "severity": "critical"}
    return AlertmanagerPayload.model_validate({
        "version": "4", "groupKey": f"{{}}:{{alertname=\"ChatErrors\", expr=\"{expr}\", ns=\"{namespace}\"}}",
        "status": "firing", "receiver": "opsmedic", "groupLabels": {"alertname": "ChatErrors"},
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://alertmanager.local:9093",
        "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": "chat errors"},
                    "startsAt": T0.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": f"http://prometheus.local:9090/graph?g0.expr={quote(expr)}",
                    "fingerprint": "c0ffee" + str(abs(hash((expr, namespace))))[:8]}],
    })


@contextlib.asynccontextmanager
async def checkpoints(settings: Settings) -> AsyncIterator[Any]:
    """The worker's checkpointer (`agent.runner.checkpointer` where the runner has one)."""
    if hasattr(runner, "checkpointer"):
        async with runner.checkpointer(settings) as saver:
            yield saver
        return
    async with AsyncSqliteSaver.from_conn_string(str(settings.sqlite_path)) as saver:
        saver.serde = SERDE
        yield saver


async def propose(worker: Worker, incident_id: str, proposal: Proposal) -> None:
    """Run the incident up to `propose`, put `proposal` in place, and let the worker go on (decide, ...)."""
    async with checkpoints(worker.settings) as saver:
        graph = build_graph(saver)
        config = thread_config(incident_id)
        await graph.ainvoke({"incident_id": incident_id}, config, context=worker.context(incident_id),
                            interrupt_after=["propose"], durability="sync")
        await graph.aupdate_state(config, {"proposal": proposal}, as_node="propose")
    await worker.run_until_idle()


async def open_and_propose(worker: Worker, store: SqliteStore, proposal: Proposal, expr: str = RECOVERING,
                           namespace: str = "prod") -> str:
    incident_id = store.record_notification(payload(expr, namespace), T0, T0).incident.id
    await propose(worker, incident_id, proposal)
    return incident_id


async def answer(worker: Worker, store: SqliteStore, incident_id: str, actor: str, approved: bool = True) -> None:
    submit_approval(store, incident_id, Approval(approved=approved, actor=actor, at=worker.clock()))
    await worker.run_until_idle()


def records(store: SqliteStore, incident_id: str, kind: str) -> list[dict[str, Any]]:
    return [{"actor": r.actor, "at": r.at, **r.data} for r in store.audit_records(incident_id) if r.kind == kind]


def replicas(emulator: ClusterEmulator) -> int:
    dep = emulator.held("Deployment", "chat", "prod")
    assert dep is not None
    return int(dep["spec"]["replicas"])


async def test_an_approved_change_runs_once_and_recovers(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], clock: Clock, config_file: str
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    assert store.get_incident(incident_id).status == "awaiting_approval"
    [decision] = records(store, incident_id, "decision")
    assert (decision["effect"], decision["rule"]) == ("require_approval", "scale-needs-approval")
    assert "spec.replicas: 3 → 5" in decision["preview"]
    assert replicas(emulator) == 3

    clock.at = T0 + timedelta(minutes=10)
    await answer(worker, store, incident_id, "U-ALICE")

    assert replicas(emulator) == 5
    assert emulator.writes(name="chat") == 1
    [approval] = records(store, incident_id, "approval")
    assert (approval["actor"], approval["verdict"], approval["action"]) == ("U-ALICE", "counted", "k8s.scale")
    assert datetime.fromisoformat(approval["at"].replace("Z", "+00:00")) == clock.at  # when, in the record
    [verification] = records(store, incident_id, "verification")
    assert verification["verdict"] == "recovered"
    assert store.intents(incident_id)[0].state == "done"
    executed = [r for r in records(store, incident_id, "action") if r["event"] == "executed"]
    assert executed[0]["actor"] == "U-ALICE"
    assert main(["--config", config_file, "audit", "verify"]) == 0


async def test_a_change_that_makes_things_worse_is_reverted_and_escalated(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], clock: Clock, pager: Pager
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE, expr=WORSENING)
    clock.at = T0 + timedelta(minutes=10)
    await answer(worker, store, incident_id, "U-ALICE")

    [verification] = records(store, incident_id, "verification")
    assert verification["verdict"] == "worse"
    assert verification["revert"]["reverted"] is True
    assert replicas(emulator) == 3
    assert emulator.writes(name="chat") == 2  # the change and its revert, nothing else
    assert store.intents(incident_id)[0].state == "reverted"
    assert pager.pages and "made things worse" in pager.pages[0][1]
    assert AuditLog(store).verify().ok


async def test_an_approval_is_refused_when_the_target_changed_since_the_preview(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], config_file: str
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    moved = emulator.held("Deployment", "chat", "prod")
    assert moved is not None
    moved["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.local/chat:2.1.0"
    moved["metadata"]["generation"] += 1
    emulator.hold(moved)

    await answer(worker, store, incident_id, "U-ALICE")

    assert emulator.writes(name="chat") == 0
    assert replicas(emulator) == 3
    refused = [r for r in records(store, incident_id, "approval") if r.get("event") == "refused"]
    assert len(refused) == 1
    assert "changed since the preview" in refused[0]["reason"]
    assert "registry.local/chat:2.1.0" in refused[0]["reason"]
    assert refused[0]["approved_by"] == ["U-ALICE"]
    assert store.intents(incident_id) == []
    assert main(["--config", config_file, "audit", "verify"]) == 0


async def test_a_late_approval_has_expired(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], clock: Clock
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    clock.at = T0 + timedelta(minutes=1, seconds=1801)  # the default policy's approval_ttl is 30m
    await answer(worker, store, incident_id, "U-ALICE")
    assert emulator.writes(name="chat") == 0
    [approval] = records(store, incident_id, "approval")
    assert approval["verdict"] == "expired"
    assert store.get_incident(incident_id).status != "awaiting_approval"


async def test_the_requester_cannot_approve_and_an_unclear_result_is_escalated(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], pager: Pager
) -> None:
    emulator, _ = cluster
    incident = store.open_incident(title="restart chat please", labels={"namespace": "prod", "service": "chat"},
                                   instant=T0, source="slack", requester="U-REQ", now=T0)
    restart = Proposal(action="k8s.rollout_restart", params={"namespace": "prod", "kind": "Deployment",
                                                             "name": "chat"})
    await propose(worker, incident.id, restart)

    await answer(worker, store, incident.id, "U-REQ")
    assert store.get_incident(incident.id).status == "awaiting_approval"
    assert emulator.writes(name="chat") == 0
    await answer(worker, store, incident.id, "system")
    assert store.get_incident(incident.id).status == "awaiting_approval"

    await answer(worker, store, incident.id, "U-BOB")
    verdicts = [(r["actor"], r["verdict"]) for r in records(store, incident.id, "approval")]
    assert verdicts == [("U-REQ", "ignored"), ("system", "ignored"), ("U-BOB", "counted")]
    assert emulator.writes(name="chat") == 1
    [verification] = records(store, incident.id, "verification")
    assert verification["verdict"] == "unclear"  # no alert expression to re-query
    assert pager.pages and "unclear" in pager.pages[0][1]


async def test_the_kill_switch_denies_changes_and_is_audited(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], config_file: str
) -> None:
    emulator, _ = cluster
    assert main(["--config", config_file, "pause", "--as", "ops", "--reason", "incident review"]) == 0
    incident_id = await open_and_propose(worker, store, SCALE)
    [decision] = records(store, incident_id, "decision")
    assert (decision["effect"], decision["rule"]) == ("deny", "kill-switch")
    assert emulator.writes() == 0
    assert main(["--config", config_file, "resume", "--as", "ops"]) == 0
    controls = [(r.actor, r.data["value"]) for r in store.audit_records() if r.kind == "control"]
    assert controls == [("cli:ops", True), ("cli:ops", False)]
    assert store.get_control("paused") is None


async def test_nothing_changes_in_a_protected_namespace(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str]
) -> None:
    emulator, _ = cluster
    scale = copy.deepcopy(SCALE.params)
    scale["namespace"] = "payments"
    incident_id = await open_and_propose(worker, store, SCALE.model_copy(update={"params": scale}),
                                         namespace="payments")
    [decision] = records(store, incident_id, "decision")
    assert (decision["effect"], decision["rule"]) == ("deny", "protected-namespaces-untouched")
    assert emulator.writes() == 0


async def test_pausing_after_the_approval_request_stops_the_approved_change(
    worker: Worker, store: SqliteStore, cluster: tuple[ClusterEmulator, str], config_file: str
) -> None:
    emulator, _ = cluster
    incident_id = await open_and_propose(worker, store, SCALE)
    assert main(["--config", config_file, "pause", "--as", "ops"]) == 0
    await answer(worker, store, incident_id, "U-ALICE")
    skipped = [r for r in records(store, incident_id, "action") if r.get("event") == "skipped"]
    assert len(skipped) == 1 and "paused" in skipped[0]["detail"]
    assert emulator.writes() == 0
    assert store.intents(incident_id) == []
