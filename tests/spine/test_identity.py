"""Identity comes from credentials: HTTP approvals need a personal token, the webhook token is not one, the body
never names the approver, one person counts once, and a round is not completed over a weaker channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agent.audit import AuditLog
from agent.cli.serve import open_doors
from agent.credentials import signature_ok, token_hash
from agent.errors import ConfigError
from agent.models import Approval
from agent.runner import Worker, submit_approval
from agent.server import create_app
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from tests.spine import test_graph
from tests.spine.conftest import ServerThread
from tests.spine.test_graph import finished_nodes, pause_with_change_proposed

cluster, worker = test_graph.cluster, test_graph.worker

TWO_PERSON = """
rules:
  - name: scale-two-person
    match: {actions: [k8s.scale]}
    effect: require_approval
    min_approvals: 2
    approval_ttl: 30m
"""
TOKENS = {token_hash("alice-laptop"): "U-ALICE", token_hash("alice-phone"): "U-ALICE",
          token_hash("bob-token"): "U-BOB"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "two.yaml").write_text(TWO_PERSON)
    return load_settings(env={}, data_dir=tmp_path / "data", policies_dir=policies, webhook_token="hook-token",
                         api_tokens=TOKENS, verify_timeout_s=1, verify_poll_s=0.2)


@pytest.fixture
def api(settings: Settings, store: SqliteStore, audit: AuditLog) -> Iterator[str]:
    with ServerThread(create_app(settings, store, audit)) as server:
        yield server.url


def approvals(audit: AuditLog, incident_id: str) -> list[tuple[str, str]]:
    return [(r.actor, r.data["verdict"]) for r in audit.records(incident_id) if r.kind == "approval"]


async def test_an_http_approval_without_a_personal_token_is_refused(worker: Worker, store, audit, api) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    anonymous = httpx.post(f"{api}/incidents/{incident_id}/approve", json={"actor": "U-ALICE"})
    with_webhook_token = httpx.post(f"{api}/incidents/{incident_id}/approve", json={"actor": "U-ALICE"},
                                    headers=bearer("hook-token"))
    assert anonymous.status_code == 401 and with_webhook_token.status_code == 401
    assert "personal token" in with_webhook_token.json()["error"]
    assert store.queue_depth() == 0
    assert store.get_incident(incident_id).status == "awaiting_approval"


async def test_the_body_cannot_name_someone_else(worker: Worker, store, audit, api) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    answer = httpx.post(f"{api}/incidents/{incident_id}/approve", json={"actor": "U-ALICE"},
                        headers=bearer("bob-token"))
    assert answer.status_code == 403 and "belongs to U-BOB" in answer.json()["error"]
    assert store.queue_depth() == 0


async def test_two_tokens_of_one_person_count_once(worker: Worker, store, audit, api) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    for token in ("alice-laptop", "alice-phone"):
        assert httpx.post(f"{api}/incidents/{incident_id}/approve", json={},
                          headers=bearer(token)).status_code == 202
        await worker.run_until_idle()
    assert approvals(audit, incident_id) == [("http:U-ALICE", "counted"), ("http:U-ALICE", "ignored")]
    assert "execute" not in finished_nodes(audit, incident_id)
    assert httpx.post(f"{api}/incidents/{incident_id}/approve", json={}, headers=bearer("bob-token")).status_code == 202
    await worker.run_until_idle()
    assert approvals(audit, incident_id)[-1] == ("http:U-BOB", "counted")
    assert "execute" in finished_nodes(audit, incident_id)


async def test_a_round_begun_in_slack_is_not_completed_over_a_weaker_channel(worker: Worker, store, audit,
                                                                             api) -> None:
    incident_id = await pause_with_change_proposed(worker, store)
    submit_approval(store, incident_id, Approval(approved=True, actor="U-ALICE", at=datetime.now(UTC)))
    await worker.run_until_idle()
    assert httpx.post(f"{api}/incidents/{incident_id}/approve", json={}, headers=bearer("bob-token")).status_code == 202
    await worker.run_until_idle()
    submit_approval(store, incident_id, Approval(approved=True, actor="cli:U-BOB", at=datetime.now(UTC)))
    await worker.run_until_idle()
    assert approvals(audit, incident_id) == [("U-ALICE", "counted"), ("http:U-BOB", "ignored"),
                                             ("cli:U-BOB", "ignored")]
    reasons = [r.data["reason"] for r in audit.records(incident_id) if r.kind == "approval"]
    assert "weaker" in reasons[1] and "over slack" in reasons[1]
    assert "execute" not in finished_nodes(audit, incident_id)
    submit_approval(store, incident_id, Approval(approved=True, actor="U-BOB", at=datetime.now(UTC)))
    await worker.run_until_idle()
    assert "execute" in finished_nodes(audit, incident_id)


def test_with_no_personal_tokens_http_approvals_are_off_and_say_how_to_turn_them_on(tmp_path: Path, store,
                                                                                     audit) -> None:
    settings = load_settings(env={}, data_dir=tmp_path / "data")
    with ServerThread(create_app(settings, store, audit)) as server:
        answer = httpx.post(f"{server.url}/incidents/inc-x/approve", json={"actor": "U-ALICE"})
    assert answer.status_code == 403
    assert "opsmedic token new" in answer.json()["error"] and "api_tokens" in answer.json()["error"]


def test_reads_take_the_webhook_token_or_a_personal_one(api: str) -> None:
    assert httpx.get(f"{api}/incidents").status_code == 401
    assert httpx.get(f"{api}/incidents", headers=bearer("hook-token")).status_code == 200
    assert httpx.get(f"{api}/incidents", headers=bearer("bob-token")).status_code == 200


def test_a_shared_token_cannot_be_listed_as_a_personal_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="never an approval credential"):
        load_settings(env={}, data_dir=tmp_path, webhook_token="hook", api_tokens={token_hash("hook"): "U-X"})
    with pytest.raises(ConfigError, match="sha256"):
        load_settings(env={}, data_dir=tmp_path, api_tokens={"the-token-itself": "U-X"})


def test_serve_names_every_open_door(tmp_path: Path) -> None:
    bare = open_doors(load_settings(env={}, data_dir=tmp_path))
    assert len(bare) == 2 and "webhook_token" in bare[0] and "/changes" in bare[1]
    assert open_doors(load_settings(env={}, data_dir=tmp_path, webhook_token="x")) == []
    only_changes = open_doors(load_settings(env={}, data_dir=tmp_path, changes_hmac_secret="s"))
    assert len(only_changes) == 1 and "webhook_token" in only_changes[0]


def test_token_new_prints_a_token_whose_hash_it_lists(capsys) -> None:
    from agent.cli import main

    assert main(["token", "new", "U-ALICE"]) == 0
    out = capsys.readouterr().out
    token = out.split("\n")[1].strip()
    assert token.startswith("opsm_") and len(token) > 40
    assert f'{token_hash(token)}: "U-ALICE"' in out


def test_a_signature_covers_the_exact_body() -> None:
    import hashlib
    import hmac

    body = b'{"at": "2026-12-01T10:00:00Z", "kind": "prompt"}'
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, "s3cret")
    assert not signature_ok(body + b" ", good, "s3cret")
    assert not signature_ok(body, good, "other")
    assert not signature_ok(body, good.replace("sha256=", "sha1="), "s3cret")


CHANGE = b'{"at": "2026-12-01T10:00:00Z", "kind": "prompt", "service": "chat", "namespace": "prod", ' \
         b'"name": "summarize", "from": "v0-attacker", "to": "v13"}'


def sign(body: bytes, secret: str) -> dict[str, str]:
    import hashlib
    import hmac

    return {"X-Opsmedic-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


@pytest.mark.parametrize(("configured", "headers", "status"), [
    ({"changes_token": "chg"}, {}, 401),
    ({"changes_token": "chg"}, bearer("hook-token"), 401),  # its own token, not the webhook's
    ({"changes_token": "chg"}, bearer("chg"), 202),
    ({"changes_hmac_secret": "sig"}, sign(CHANGE, "sig"), 202),
    ({"changes_hmac_secret": "sig"}, sign(CHANGE, "other"), 401),
    ({"changes_hmac_secret": "sig"}, sign(CHANGE + b" ", "sig"), 401),  # signed another body
    ({"changes_hmac_secret": "sig"}, bearer("hook-token"), 401),
    ({}, bearer("hook-token"), 202),  # nothing of its own: the webhook token
    ({}, {}, 401),
])
def test_change_events_need_their_own_token_or_signature(tmp_path: Path, store, audit, configured: dict[str, str],
                                                        headers: dict[str, str], status: int) -> None:
    settings = load_settings(env={}, data_dir=tmp_path / "data", webhook_token="hook-token", **configured)
    with ServerThread(create_app(settings, store, audit)) as server:
        answer = httpx.post(f"{server.url}/changes", content=CHANGE,
                            headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == status
    assert len(store.changes_between(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))) == (
        1 if status == 202 else 0)
