"""The audit log: a hash chain that `opsmedic audit verify` checks, and secrets that never reach it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
import yaml

from agent.audit import AuditLog, Redactor
from agent.cli import main
from agent.settings import Settings
from agent.store.sqlite import SqliteStore
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
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)", (2, *rows[1][1:]))
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)", (3, *rows[0][1:]))
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
