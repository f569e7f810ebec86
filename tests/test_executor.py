"""Safe execution against the Kubernetes emulator: a crash right after the intent is stored, or right after
the Kubernetes call, still runs the action exactly once (counted at the emulator); two actions on the same
target at once: exactly one executes; a repeated execution is reconciled, never re-run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.audit import AuditLog
from agent.executor import Executor
from agent.models import ActionResult, Proposal
from agent.store.sqlite import SqliteStore
from tests.actions.conftest import seed
from tests.actions.kube_reactions import ClusterEmulator, api_client, running_cluster
from tools.actions import build_catalog

ROOT = Path(__file__).resolve().parents[1]
SCALE = Proposal(action="k8s.scale", params={"namespace": "prod", "kind": "Deployment", "name": "chat",
                                             "replicas": 5}, target="prod/Deployment/chat")

CHILD = textwrap.dedent("""
    import os, sys
    from datetime import UTC, datetime
    from agent.audit import AuditLog
    from agent.executor import Executor
    from agent.models import Proposal
    from agent.store.sqlite import SqliteStore
    from tests.actions.kube_reactions import api_client
    from tools.actions import build_catalog

    db, url, crash_at, proposal = sys.argv[1:5]
    store = SqliteStore(db)
    def hook(step):
        if step == crash_at:
            os._exit(17)  # the process dies here: no cleanup, no more writes
    executor = Executor(store, AuditLog(store), build_catalog(api_client(url)), lambda: datetime.now(UTC), hook)
    result = executor.execute("inc-1", Proposal.model_validate_json(proposal), "U-APPROVER")
    print(result.status, result.detail)
""")


@pytest.fixture
def cluster() -> Iterator[tuple[ClusterEmulator, str]]:
    with running_cluster() as (emulator, url):
        seed(emulator)
        yield emulator, url


def run_child(db: Path, url: str, crash_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, str(db), url, crash_at, SCALE.model_dump_json()],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("crash_at", ["intent_stored", "called"])
def test_crash_then_restart_runs_the_action_exactly_once(
    cluster: tuple[ClusterEmulator, str], tmp_path: Path, crash_at: str
) -> None:
    emulator, url = cluster
    db = tmp_path / "opsmedic.db"
    crashed = run_child(db, url, crash_at)
    assert crashed.returncode == 17, crashed.stderr
    writes_before_restart = emulator.writes(name="chat")
    assert writes_before_restart == (0 if crash_at == "intent_stored" else 1)

    restarted = run_child(db, url, "never")
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.startswith("succeeded"), restarted.stdout
    assert emulator.writes(name="chat") == 1
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 5  # type: ignore[index]

    store = SqliteStore(db)
    events = [r.data["event"] for r in store.audit_records("inc-1")]
    assert events[0] == "intent_stored" and "reconciled" in events
    assert store.intents("inc-1")[0].state == "applied"
    assert AuditLog(store).verify().ok


def make_executor(tmp_path: Path, url: str) -> tuple[Executor, SqliteStore]:
    store = SqliteStore(tmp_path / "opsmedic.db")
    return Executor(store, AuditLog(store), build_catalog(api_client(url)), lambda: datetime.now(UTC)), store


def test_executing_twice_reconciles_instead_of_running_again(
    cluster: tuple[ClusterEmulator, str], tmp_path: Path
) -> None:
    emulator, url = cluster
    executor, _ = make_executor(tmp_path, url)
    first = executor.execute("inc-1", SCALE, "U1")
    second = executor.execute("inc-1", SCALE, "U1")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert "not run again" in second.detail
    assert first.idempotency_key == second.idempotency_key
    assert emulator.writes(name="chat") == 1


def test_two_approvals_on_one_target_at_once_execute_exactly_one(
    cluster: tuple[ClusterEmulator, str], tmp_path: Path
) -> None:
    emulator, url = cluster
    restart = Proposal(action="k8s.rollout_restart", params={"namespace": "prod", "kind": "Deployment",
                                                             "name": "chat"}, target="prod/Deployment/chat")
    make_executor(tmp_path, url)[1].close()  # the store file exists with its schema before the race
    executors = [make_executor(tmp_path, url)[0] for _ in range(2)]  # one connection each, as two workers
    barrier = threading.Barrier(2, timeout=10)
    results: dict[str, ActionResult] = {}

    def approve_and_run(executor: Executor, incident: str, proposal: Proposal) -> None:
        barrier.wait()
        results[incident] = executor.execute(incident, proposal, f"U-{incident}")

    threads = [threading.Thread(target=approve_and_run, args=(executors[0], "inc-a", SCALE), daemon=True),
               threading.Thread(target=approve_and_run, args=(executors[1], "inc-b", restart), daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status for r in results.values())
    assert statuses == ["skipped", "succeeded"], results
    skipped = next(r for r in results.values() if r.status == "skipped")
    assert "busy" in skipped.detail
    assert emulator.writes(name="chat") == 1


def test_target_is_free_again_once_settled(cluster: tuple[ClusterEmulator, str], tmp_path: Path) -> None:
    emulator, url = cluster
    executor, _ = make_executor(tmp_path, url)
    first = executor.execute("inc-a", SCALE, "U1")
    executor.settle(first.idempotency_key, "done", "recovered")
    restart = Proposal(action="k8s.rollout_restart", params={"namespace": "prod", "kind": "Deployment",
                                                             "name": "chat"})
    assert executor.execute("inc-b", restart, "U2").status == "succeeded"
    assert emulator.writes(name="chat") == 2


def test_revert_restores_from_the_stored_plan(cluster: tuple[ClusterEmulator, str], tmp_path: Path) -> None:
    emulator, url = cluster
    executor, store = make_executor(tmp_path, url)
    result = executor.execute("inc-1", SCALE, "U1")
    reverted, detail = executor.revert(result.idempotency_key)
    assert reverted, detail
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 3  # type: ignore[index]
    assert [r.data["event"] for r in store.audit_records("inc-1")][-1] == "reverted"


def test_invalid_proposal_fails_without_touching_the_cluster(
    cluster: tuple[ClusterEmulator, str], tmp_path: Path
) -> None:
    emulator, url = cluster
    executor, _ = make_executor(tmp_path, url)
    bad = Proposal(action="k8s.scale", params={"namespace": "prod", "name": "chat"})
    result = executor.execute("inc-1", bad, "U1")
    assert result.status == "failed" and "replicas" in result.detail
    assert emulator.writes() == 0


def test_executed_actions_count_towards_the_hourly_limit(cluster: tuple[ClusterEmulator, str], tmp_path: Path) -> None:
    _, url = cluster
    executor, store = make_executor(tmp_path, url)
    before = datetime.now(UTC)
    result = executor.execute("inc-1", SCALE, "U1")
    assert store.count_intents(result.target, before.replace(microsecond=0)) == 1
    assert store.count_intents("prod/Deployment/other", before.replace(microsecond=0)) == 0


REVERT_CHILD = textwrap.dedent("""
    import os, sys
    from datetime import UTC, datetime
    from agent.audit import AuditLog
    from agent.executor import Executor
    from agent.store.sqlite import SqliteStore
    from tests.actions.kube_reactions import api_client
    from tools.actions import build_catalog

    db, url, crash_at, key = sys.argv[1:5]
    store = SqliteStore(db)
    def hook(step):
        if step == crash_at:
            os._exit(17)
    executor = Executor(store, AuditLog(store), build_catalog(api_client(url)), lambda: datetime.now(UTC), hook)
    print(*executor.revert(key))
""")


@pytest.mark.parametrize(("crash_at", "writes_at_crash"), [("revert_stored", 1), ("revert_called", 2)])
def test_a_crash_around_a_revert_reverts_exactly_once(
    cluster: tuple[ClusterEmulator, str], tmp_path: Path, crash_at: str, writes_at_crash: int
) -> None:
    emulator, url = cluster
    executor, store = make_executor(tmp_path, url)
    key = executor.execute("inc-1", SCALE, "U1").idempotency_key
    assert emulator.writes(name="chat") == 1

    def child(step: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", REVERT_CHILD, str(tmp_path / "opsmedic.db"), url, step, key],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    crashed = child(crash_at)
    assert crashed.returncode == 17, crashed.stderr
    assert emulator.writes(name="chat") == writes_at_crash
    restarted = child("never")
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.startswith("True"), restarted.stdout
    assert emulator.writes(name="chat") == 2  # the change and one revert, never a second
    assert emulator.held("Deployment", "chat", "prod")["spec"]["replicas"] == 3  # type: ignore[index]
    events = [r.data["event"] for r in store.audit_records("inc-1")]
    assert events.count("revert_stored") == 1 and "revert_reconciled" in events
    assert AuditLog(store).verify().ok
