"""The audit log: a hash chain that `opsmedic audit verify` checks, and secrets that never reach it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
import yaml

from agent.audit import AuditLog, Redactor, record_hash, verify_chain
from agent.audit_seal import Seal, load_key, open_seal
from agent.cli import main
from agent.settings import Settings, load_settings
from agent.store.sqlite import GENESIS, SqliteStore
from tests.spine.conftest import sample_payload


@pytest.fixture
def config(settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "opsmedic.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir)}))
    return str(path)


@pytest.fixture
def filled(store: SqliteStore, audit: AuditLog) -> SqliteStore:
    for i in range(6):
        audit.append(f"inc-{i % 2}", "message", "system", {"n": i})
    return store


def verify(config: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--config", config, "audit", "verify"])
    return code, capsys.readouterr().out


def test_an_untouched_log_verifies(filled: SqliteStore, config: str, capsys) -> None:
    code, out = verify(config, capsys)
    assert code == 0
    assert "6 records" in out


def test_an_edited_record_is_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("""UPDATE audit SET data = '{"n": 99}' WHERE seq = 3""")
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 3 was edited" in out


def test_an_edited_actor_is_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("UPDATE audit SET actor = 'U_ATTACKER' WHERE seq = 2")
    code, out = verify(config, capsys)
    assert (code, "record 2 was edited" in out) == (1, True)


def test_a_removed_record_is_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DELETE FROM audit WHERE seq = 4")
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 4 was removed" in out


def test_a_removed_last_record_is_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DELETE FROM audit WHERE seq = 6")
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 6 was removed" in out


def test_reordered_records_are_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        rows = db.execute("SELECT * FROM audit WHERE seq IN (2, 3) ORDER BY seq").fetchall()
        db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
        # put them back in the other order, with their original contents
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)", (2, *rows[1][1:]))
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)", (3, *rows[0][1:]))
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 2" in out


def test_audit_show_filters_by_incident(filled: SqliteStore, config: str, capsys) -> None:
    assert main(["--config", config, "audit", "show", "inc-1", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["data"]["n"] for r in lines] == [1, 3, 5]


def test_planted_secrets_never_reach_the_log(tmp_path: Path, settings: Settings) -> None:
    store = SqliteStore(settings.sqlite_path)
    audit = AuditLog(store, Redactor(settings.redact_patterns, ["hunter2-webhook-secret"]))
    audit.append("inc-1", "tool_call", "system", {
        "query": "curl -H 'Authorization: Bearer abcdefghijklmnop' https://api",
        "note": "key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX leaked, and hunter2-webhook-secret too",
        "nested": [{"api_key": "plain-value-1234"}, {"token": "xoxb-123456789-abcdefgh"}],
    })
    store.close()
    raw = b"".join(p.read_bytes() for p in settings.sqlite_path.parent.glob("opsmedic.db*"))
    for secret in (b"abcdefghijklmnop", b"sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX", b"hunter2-webhook-secret",
                   b"plain-value-1234", b"xoxb-123456789-abcdefgh"):
        assert secret not in raw
    reopened = AuditLog(SqliteStore(settings.sqlite_path))
    [record] = reopened.records()
    assert record.data["nested"] == [{"api_key": "[REDACTED]"}, {"token": "[REDACTED]"}]
    assert reopened.verify().ok


def test_a_secret_in_an_alert_is_redacted_from_the_audit(client: httpx.Client, audit: AuditLog) -> None:
    body = sample_payload()
    body["alerts"][0]["labels"]["alertname"] = "Leak sk-live-0123456789abcdefghij"
    client.post("/alertmanager", json=body)
    dumped = json.dumps([r.model_dump(mode="json") for r in audit.records()])
    assert "sk-live-0123456789abcdefghij" not in dumped
    assert "[REDACTED]" in dumped


# -- the anchor outside the database: macs under the audit key, and checkpoints ----------------------------------


def rewrite(path: Path, seq: int, data: dict[str, object], key: bytes | None = None) -> None:
    """What an attacker with write access to the database does: change record `seq`, recompute every hash from
    there on and the head row, so that the chain agrees with itself. With the key, the macs too."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        db.execute("UPDATE audit SET data = ? WHERE seq = ?", (json.dumps(data), seq))
        rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        prev = rows[seq - 2]["hash"] if seq > 1 else GENESIS
        for row in rows[seq - 1:]:
            body = {"seq": row["seq"], "at": row["at"], "incident_id": row["incident_id"], "kind": row["kind"],
                    "actor": row["actor"], "data": json.loads(row["data"]), "prev_hash": prev}
            digest = record_hash(body)
            mac = Seal(key, Path("unused")).sign(digest) if key else row["mac"]
            db.execute("UPDATE audit SET prev_hash = ?, hash = ?, mac = ? WHERE seq = ?",
                       (prev, digest, mac, row["seq"]))
            prev = digest
        db.execute("UPDATE controls SET value = ? WHERE key = 'audit_head'", (json.dumps([rows[-1]["seq"], prev]),))


def chain_alone(path: Path) -> bool:
    """The check `audit verify` made before the anchor: the chain and the head row, no key, no checkpoints."""
    store = SqliteStore(path)
    try:
        return verify_chain(store.audit_records(), store.audit_head()).ok
    finally:
        store.close()


def checkpoint(config: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--config", config, "audit", "checkpoint"]) == 0
    return capsys.readouterr().out


def test_a_rewritten_chain_with_its_head_recomputed_fails_on_the_macs(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    rewrite(settings.sqlite_path, 3, {"n": 99})
    assert chain_alone(settings.sqlite_path)  # the attack: the chain and head agree with themselves
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 3 has a wrong mac" in out


def test_a_key_holder_rewriting_before_a_checkpoint_is_caught(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    assert "checkpoint of record 6" in checkpoint(config, capsys)
    rewrite(settings.sqlite_path, 3, {"n": 99}, key=load_key(settings))
    code, out = verify(config, capsys)
    assert code == 1
    assert "the chain was rewritten at or before record 6" in out


def test_a_cut_tail_with_the_head_row_deleted_is_caught(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DELETE FROM audit WHERE seq > 4")
        db.execute("DELETE FROM controls WHERE key = 'audit_head'")
    assert chain_alone(settings.sqlite_path)
    code, out = verify(config, capsys)
    assert code == 1
    assert "head row is missing" in out


def test_a_cut_tail_with_the_head_row_recomputed_is_caught_by_a_checkpoint(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    checkpoint(config, capsys)
    with sqlite3.connect(settings.sqlite_path) as db:
        [(digest,)] = db.execute("SELECT hash FROM audit WHERE seq = 4").fetchall()
        db.execute("DELETE FROM audit WHERE seq > 4")
        db.execute("UPDATE controls SET value = ? WHERE key = 'audit_head'", (json.dumps([4, digest]),))
    assert chain_alone(settings.sqlite_path)
    code, out = verify(config, capsys)
    assert code == 1
    assert "checkpoint line 1 vouches for record 6, the log ends at record 4" in out


def test_an_emptied_log_with_checkpoints_is_caught(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    checkpoint(config, capsys)
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("DELETE FROM audit")
        db.execute("DELETE FROM controls WHERE key = 'audit_head'")
    assert chain_alone(settings.sqlite_path)
    code, out = verify(config, capsys)
    assert code == 1
    assert "the log is empty" in out


def test_an_empty_log_without_checkpoints_says_it_is_empty(store: SqliteStore, config: str, capsys) -> None:
    code, out = verify(config, capsys)
    assert code == 0
    assert out.strip() == "audit log empty: 0 records (nothing to verify)"
    assert "audit log empty: no checkpoint written" in checkpoint(config, capsys)


def test_a_stripped_mac_is_named(filled: SqliteStore, settings: Settings, config: str, capsys) -> None:
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("UPDATE audit SET mac = '' WHERE seq = 4")
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 4 has no mac" in out


def test_another_key_fails_and_the_audit_key_setting_wins_over_the_file(
    filled: SqliteStore, settings: Settings, tmp_path: Path, capsys
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir), "audit_key": "another-key-0123456789"}))
    code, out = verify(str(other), capsys)
    assert code == 1
    assert "record 1 has a wrong mac" in out
    assert "another-key-0123456789" in load_settings(other, env={}).secrets()


def test_an_edited_checkpoint_line_fails_its_mac(
    filled: SqliteStore, settings: Settings, config: str, capsys
) -> None:
    checkpoint(config, capsys)
    path = settings.audit_checkpoint_path
    point = json.loads(path.read_text())
    path.write_text(json.dumps({**point, "at": "2026-01-01T00:00:00+00:00"}) + "\n")
    code, out = verify(config, capsys)
    assert code == 1
    assert "checkpoint line 1 was edited" in out


@pytest.fixture
def long_run(tmp_path: Path) -> tuple[Settings, str]:
    """35 records written with a checkpoint every 10, and closed; the settings and their config file."""
    settings = load_settings(env={}, data_dir=tmp_path / "data", audit_checkpoint_every=10)
    config = tmp_path / "opsmedic.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir), "audit_checkpoint_every": 10}))
    store = SqliteStore(settings.sqlite_path)
    audit = AuditLog(store, seal=open_seal(settings))
    for i in range(35):
        audit.append(f"inc-{i % 3}", "message", "system", {"n": i})
    audit.close()
    store.close()
    return settings, str(config)


def test_a_long_run_checkpoints_at_the_interval_and_verifies(long_run: tuple[Settings, str], capsys) -> None:
    settings, config = long_run
    lines = [json.loads(line) for line in settings.audit_checkpoint_path.read_text().splitlines()]
    assert [p["seq"] for p in lines] == [10, 20, 30, 35]
    checkpoint(config, capsys)  # the head is checkpointed already: no second line for record 35
    assert len(settings.audit_checkpoint_path.read_text().splitlines()) == 4
    code, out = verify(config, capsys)
    assert code == 0
    assert "audit log intact: 35 records, chain and macs verified, 4 checkpoints matched" in out


@pytest.mark.parametrize("kept", [0, 2])
def test_a_checkpoint_file_cut_back_is_caught(long_run: tuple[Settings, str], kept: int, capsys) -> None:
    settings, config = long_run
    path = settings.audit_checkpoint_path
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()[:kept]))
    code, out = verify(config, capsys)
    assert code == 1
    assert "no checkpoint at or after record 30" in out


def test_the_key_file_is_made_once_and_private(settings: Settings) -> None:
    key = load_key(settings)
    assert len(key) == 32
    assert settings.audit_key_path.stat().st_mode & 0o777 == 0o600
    assert load_key(settings) == key


def test_a_store_from_before_the_mac_column_is_migrated(settings: Settings, config: str, capsys) -> None:
    settings.sqlite_path.parent.mkdir(parents=True)
    with sqlite3.connect(settings.sqlite_path) as db:
        db.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, incident_id TEXT NOT NULL, "
                   "kind TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL, prev_hash TEXT NOT NULL, "
                   "hash TEXT NOT NULL)")
        body = {"seq": 1, "at": "2026-11-23T10:00:00+00:00", "incident_id": "", "kind": "message",
                "actor": "system", "data": {}, "prev_hash": GENESIS}
        db.execute("INSERT INTO audit VALUES (1, ?, '', 'message', 'system', '{}', ?, ?)",
                   (body["at"], GENESIS, record_hash(body)))
    store = SqliteStore(settings.sqlite_path)
    AuditLog(store, seal=open_seal(settings)).append("inc-1", "message", "system", {"n": 2})
    store.close()
    code, out = verify(config, capsys)
    assert code == 1
    assert "record 1 has no mac" in out
