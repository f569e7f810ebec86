"""Action intents: the executor's durable record of what it is about to do, is doing, and did.

The key is the idempotency key (incident, action, target, parameters) under a primary-key constraint; a
partial unique index lets at most one intent per target be in flight (`pending` or `applied`) at a time.

    pending ──(the call landed)──> applied ──(verified)──> done | reverted | failed
       └──(refused / the call failed)──> failed
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

IntentState = Literal["pending", "applied", "reverting", "done", "reverted", "failed"]
IN_FLIGHT = ("pending", "applied")

INTENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS action_intents (
    key TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    params TEXT NOT NULL,
    plan TEXT NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    result TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS action_intents_one_per_target ON action_intents(target)
    WHERE state IN ('pending', 'applied', 'reverting');
CREATE INDEX IF NOT EXISTS action_intents_target_time ON action_intents(target, created_at);
"""


@dataclass(frozen=True)
class Intent:
    key: str
    incident_id: str
    action: str
    target: str
    params: dict[str, Any]
    plan: dict[str, Any]
    state: IntentState
    actor: str
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any]


@dataclass(frozen=True)
class IntentClaim:
    outcome: Literal["created", "exists", "busy"]
    """`created`: this caller owns the new intent; `exists`: the key was seen before (see `intent`);
    `busy`: another intent on the same target is in flight (see `intent`, which is that one)."""
    intent: Intent


class _Host(Protocol):
    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]: ...


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _intent(row: sqlite3.Row) -> Intent:
    return Intent(
        key=row["key"], incident_id=row["incident_id"], action=row["action"], target=row["target"],
        params=json.loads(row["params"]), plan=json.loads(row["plan"]), state=row["state"], actor=row["actor"],
        created_at=datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")),
        updated_at=datetime.fromisoformat(row["updated_at"].replace("Z", "+00:00")), result=json.loads(row["result"]),
    )


class IntentsMixin:
    """The intent methods of `SqliteStore` (kept apart to keep one file per noun)."""

    def begin_intent(
        self: _Host, *, key: str, incident_id: str, action: str, target: str, params: dict[str, Any],
        plan: dict[str, Any], actor: str, now: datetime,
    ) -> IntentClaim:
        with self._write() as db:
            row = db.execute("SELECT * FROM action_intents WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return IntentClaim("exists", _intent(row))
            busy = db.execute(
                "SELECT * FROM action_intents WHERE target = ? AND state IN ('pending', 'applied')", (target,)
            ).fetchone()
            if busy is not None:
                return IntentClaim("busy", _intent(busy))
            db.execute(
                "INSERT INTO action_intents(key, incident_id, action, target, params, plan, state, actor, "
                "created_at, updated_at) VALUES (?,?,?,?,?,?,'pending',?,?,?)",
                (key, incident_id, action, target, json.dumps(params, sort_keys=True), json.dumps(plan),
                 actor, _utc(now), _utc(now)),
            )
            created = db.execute("SELECT * FROM action_intents WHERE key = ?", (key,)).fetchone()
            return IntentClaim("created", _intent(created))

    def get_intent(self: _Host, key: str) -> Intent | None:
        rows = self._read("SELECT * FROM action_intents WHERE key = ?", (key,))
        return _intent(rows[0]) if rows else None

    def set_intent_state(
        self: _Host, key: str, state: IntentState, now: datetime, result: dict[str, Any] | None = None
    ) -> None:
        with self._write() as db:
            if result is None:
                db.execute("UPDATE action_intents SET state = ?, updated_at = ? WHERE key = ?",
                           (state, _utc(now), key))
            else:
                db.execute("UPDATE action_intents SET state = ?, updated_at = ?, result = ? WHERE key = ?",
                           (state, _utc(now), json.dumps(result, default=str), key))

    def count_intents(self: _Host, target: str, since: datetime) -> int:
        """Intents on `target` created at or after `since` whose call landed (for `max_per_hour`)."""
        rows = self._read(
            "SELECT count(*) AS n FROM action_intents WHERE target = ? AND created_at >= ? "
            "AND state IN ('applied', 'reverting', 'done', 'reverted')", (target, _utc(since)),
        )
        return int(rows[0]["n"])

    def intents(self: _Host, incident_id: str | None = None) -> list[Intent]:
        if incident_id:
            return [_intent(r) for r in self._read(
                "SELECT * FROM action_intents WHERE incident_id = ? ORDER BY created_at", (incident_id,))]
        return [_intent(r) for r in self._read("SELECT * FROM action_intents ORDER BY created_at")]
