"""The incident graph run by the worker: every node runs once and is audited; approvals pause and resume it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent.audit import AuditLog
from agent.cli import main
from agent.context import Clients
from agent.errors import InvalidRequest
from agent.graph import build_graph
from agent.models import Proposal
from agent.runner import Worker, checkpointer, submit_approval, thread_config
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests.actions.conftest import deployment
from tests.actions.kube_reactions import api_client, running_cluster
from tests.spine.conftest import sample_payload

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def open_incident(store: SqliteStore) -> str:
    payload = AlertmanagerPayload.model_validate(sample_payload())
    now = datetime.now(UTC)
    return store.record_notification(payload, now, now).incident.id


def finished_nodes(audit: AuditLog, incident_id: str) -> list[str]:
    return [r.data["node"] for r in audit.records(incident_id) if r.kind == "node"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """No Prometheus answers here, so verification cannot see recovery: give up on it quickly."""
    return load_settings(env={}, data_dir=tmp_path / "data", verify_timeout_s=1, verify_poll_s=0.2)


@pytest.fixture
def cluster() -> Iterator[str]:
    """The kmock Kubernetes emulator holding the `summarizer` Deployment the approval tests scale."""
    with running_cluster() as (emulator, url):
        emulator.hold({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {}}})
        emulator.hold(deployment("summarizer", "registry.local/summarizer:4.2.0", replicas=3))
        yield url


@pytest.fixture
def worker(settings: Settings, store: SqliteStore, audit: AuditLog, cluster: str) -> Worker:
    """A worker with a cluster to preview and execute against, on the wall clock (approvals expire)."""
    return Worker(settings, store, audit, Clients(kubernetes=api_client(cluster)))


async def test_an_incident_runs_every_node_once_and_escalates(worker: Worker, store, audit) -> None:
    incident_id = open_incident(store)
    await worker.run_until_idle()
    nodes = finished_nodes(audit, incident_id)
    assert nodes[:4] == ["intake", "investigate", "diagnose", "propose"]
    assert nodes[-1] == "record"
    assert len(nodes) == len(set(nodes))
    kinds = [r.kind for r in audit.records(incident_id)]
    for kind in ("tool_call", "diagnosis", "proposal", "decision", "action", "verification"):
        assert kind in kinds
    assert store.get_incident(incident_id).status == "handled"
    assert store.queue_depth() == 0
    assert audit.verify().ok


async def test_tools_see_the_incident_instant_not_the_wall_clock(worker: Worker, store, audit) -> None:
    payload = AlertmanagerPayload.model_validate(sample_payload())
    instant = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    incident_id = store.record_notification(payload, instant, NOW).incident.id
    await worker.run_until_idle()
    metric_queries = [r.data["query"] for r in audit.records(incident_id)
                      if r.kind == "tool_call" and r.data["tool"] in ("prometheus", "llm_signals", "infra_signals")]
    assert len(metric_queries) == 3
    assert all("@ 2026-11-20T03:00:00+00:00" in q for q in metric_queries)


async def pause_with_change_proposed(worker: Worker, store: SqliteStore) -> str:
    """Run an incident up to `propose`, replace the proposal with a change, and let the worker go on."""
    incident_id = open_incident(store)
    async with checkpointer(worker.settings) as saver:
        graph = build_graph(saver)
        config = thread_config(incident_id)
        await graph.ainvoke({"incident_id": incident_id}, config, context=worker.context(incident_id),
                            interrupt_after=["propose"], durability="sync")
        change = Proposal(action="k8s.scale", target="prod/Deployment/summarizer",
                          params={"namespace": "prod", "kind": "Deployment", "name": "summarizer", "replicas": 4})
        await graph.aupdate_state(config, {"proposal": change}, as_node="propose")
    await worker.run_until_idle()  # the queued job continues from the checkpoint: decide, then approve
    return incident_id


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "opsmedic.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir)}))
    return str(path)


async def test_a_change_waits_for_approval_and_resumes_from_the_cli(
    worker: Worker, store, audit, config_file: str
) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    assert store.get_incident(incident_id).status == "awaiting_approval"
    assert "execute" not in finished_nodes(audit, incident_id)

    assert main(["--config", config_file, "approve", incident_id, "--as", "alice"]) == 0
    await worker.run_until_idle()

    approvals = [r for r in audit.records(incident_id) if r.kind == "approval"]
    assert [(r.actor, r.data["approved"]) for r in approvals] == [("cli:alice", True)]
    assert "execute" in finished_nodes(audit, incident_id)
    assert finished_nodes(audit, incident_id).count("intake") == 1
    executed = [r for r in audit.records(incident_id) if r.kind == "action" and r.data["event"] == "executed"]
    assert [(r.actor, r.data["target"]) for r in executed] == [("cli:alice", "prod/Deployment/summarizer")]


async def test_a_rejection_ends_the_incident_without_executing(worker: Worker, store, audit, config_file) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    assert main(["--config", config_file, "reject", incident_id, "--as", "bob"]) == 0
    await worker.run_until_idle()
    nodes = finished_nodes(audit, incident_id)
    assert "execute" not in nodes
    assert nodes[-1] == "record"
    [outcome] = [r.data["outcome"] for r in audit.records(incident_id) if r.kind == "message"]
    assert outcome == "k8s.scale rejected by cli:bob"


async def test_approving_an_incident_that_waits_for_nothing_is_refused(worker: Worker, store) -> None:
    incident_id = open_incident(store)
    await worker.run_until_idle()
    from agent.models import Approval

    with pytest.raises(InvalidRequest, match="not waiting for an approval"):
        submit_approval(store, incident_id, Approval(approved=True, actor="cli:alice", at=NOW))


def test_approving_an_unknown_incident_is_a_clear_error(config_file: str, capsys) -> None:
    assert main(["--config", config_file, "approve", "inc-nope"]) == 2
    assert "no incident 'inc-nope'" in capsys.readouterr().err


async def test_an_approval_through_the_http_api_resumes_the_graph(worker: Worker, store, audit, tmp_path) -> None:
    import httpx

    from agent.credentials import token_hash
    from agent.server import create_app
    from tests.spine.conftest import ServerThread

    incident_id = await pause_with_change_proposed(worker, store)
    settings = load_settings(env={}, data_dir=tmp_path / "data", api_tokens={token_hash("carol-token"): "carol"})
    carol = {"Authorization": "Bearer carol-token"}
    with ServerThread(create_app(settings, store, audit)) as server:
        unknown = httpx.post(f"{server.url}/incidents/inc-nope/approve", json={}, headers=carol)
        queued = httpx.post(f"{server.url}/incidents/{incident_id}/approve", json={"comment": "ok"}, headers=carol)
    assert unknown.status_code == 404
    assert queued.status_code == 202
    await worker.run_until_idle()
    approvals = [r for r in audit.records(incident_id) if r.kind == "approval"]
    assert [r.actor for r in approvals] == ["http:carol"]
    assert "execute" in finished_nodes(audit, incident_id)
