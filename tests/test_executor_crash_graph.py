"""The crash test through the worker: the worker process is killed inside the execute node — right after the
intent is stored, and right after the Kubernetes call — and a new worker process takes the job over. The graph
resumes at execute from its checkpoint, the executor reconciles the stored intent with the cluster, and the
Deployment was patched exactly once (counted at the emulator)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent.audit import AuditLog
from agent.audit_seal import open_seal
from agent.cli import main
from agent.context import Clients
from agent.models import Approval
from agent.runner import Worker, submit_approval
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import AlertmanagerPayload
from tests.actions.conftest import seed
from tests.actions.kube_reactions import ClusterEmulator, api_client, running_cluster
from tests.spine.conftest import sample_payload
from tests.test_approvals_graph import SCALE, propose

ROOT = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import asyncio, os, sys
    from agent.audit import AuditLog
    from agent.audit_seal import open_seal
    from agent.context import Clients
    from agent.runner import Worker
    from agent.settings import load_settings
    from agent.store.sqlite import SqliteStore
    from tests.actions.kube_reactions import api_client

    config, url, crash_at = sys.argv[1:4]
    settings = load_settings(config)
    store = SqliteStore(settings.sqlite_path)
    def hook(step):
        if step == crash_at:
            os._exit(17)
    clients = Clients(kubernetes=api_client(url), executor_hook=hook)
    asyncio.run(Worker(settings, store, AuditLog(store, seal=open_seal(settings)), clients).run_until_idle())
""")


@pytest.fixture
def cluster() -> Iterator[tuple[ClusterEmulator, str]]:
    with running_cluster() as (emulator, url):
        seed(emulator)
        yield emulator, url


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "opsmedic.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "policies_dir": str(ROOT / "policies"),
                                    "verify_timeout_s": 0.3, "verify_poll_s": 0.1, "investigate_budget_s": 5.0}))
    return str(path)


def run_worker(config_file: str, url: str, crash_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WORKER, config_file, url, crash_at], cwd=ROOT,
                          capture_output=True, text=True, timeout=90)


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["intent_stored", "called"])
async def test_a_worker_killed_mid_action_is_replaced_and_the_action_runs_once(
    cluster: tuple[ClusterEmulator, str], config_file: str, crash_at: str
) -> None:
    emulator, url = cluster
    settings: Settings = load_settings(config_file, env={})
    store = SqliteStore(settings.sqlite_path)
    worker = Worker(settings, store, AuditLog(store, seal=open_seal(settings)), Clients(kubernetes=api_client(url)))
    now = datetime.now(UTC)
    incident_id = store.record_notification(AlertmanagerPayload.model_validate(sample_payload()), now, now).incident.id
    await propose(worker, incident_id, SCALE)
    assert store.get_incident(incident_id).status == "awaiting_approval"
    submit_approval(store, incident_id, Approval(approved=True, actor="U-ALICE", at=datetime.now(UTC)))

    killed = run_worker(config_file, url, crash_at)
    assert killed.returncode == 17, killed.stderr[-2000:]
    assert emulator.writes(name="chat") == (0 if crash_at == "intent_stored" else 1)

    replacement = run_worker(config_file, url, "never")
    assert replacement.returncode == 0, replacement.stderr[-2000:]

    assert emulator.writes(name="chat") == 1
    dep = emulator.held("Deployment", "chat", "prod")
    assert dep is not None and dep["spec"]["replicas"] == 5
    events = [r.data.get("event") for r in store.audit_records(incident_id) if r.kind == "action"]
    assert events.count("intent_stored") == 1 and "reconciled" in events
    assert [i.state for i in store.intents(incident_id)] == ["done"]
    assert store.get_incident(incident_id).status in ("handled", "resolved")
    assert main(["--config", config_file, "audit", "verify"]) == 0
