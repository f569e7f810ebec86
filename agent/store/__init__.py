"""The incident store: incidents, alerts, change events, the work queue, the audit chain and controls.

`Store` is the interface; `SqliteStore` (WAL) is the default. A Postgres implementation fills the same
protocol (the SQL is portable apart from the upsert and locking statements). `open_store(settings)` builds
the one the settings ask for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent.models import AuditKind, AuditRecord, ChangeEvent, Incident
from agent.settings import Settings
from agent.store.intents import Intent, IntentClaim, IntentState
from agent.webhook import AlertmanagerPayload


@dataclass(frozen=True)
class IntakeOutcome:
    incident: Incident
    created: bool
    """A new incident was opened (and its investigation queued)."""
    duplicate: bool
    """The same delivery had been seen before: nothing but the delivery count changed."""


@dataclass(frozen=True)
class Job:
    id: int
    incident_id: str
    kind: str
    """`investigate` (run the graph from the start or its last checkpoint) or `resume` (an approval)."""
    payload: dict[str, Any]


class Store(Protocol):
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be read and written."""

    def record_notification(
        self, payload: AlertmanagerPayload, instant: datetime, received_at: datetime
    ) -> IntakeOutcome: ...

    def open_incident(
        self, *, title: str, labels: dict[str, str], instant: datetime, source: str, requester: str,
        now: datetime,
    ) -> Incident: ...

    def get_incident(self, incident_id: str) -> Incident: ...

    def list_incidents(self, *, status: str | None = None, limit: int = 50) -> list[Incident]: ...

    def set_incident_status(self, incident_id: str, status: str, now: datetime) -> None: ...

    def record_change(self, change: ChangeEvent) -> int: ...

    def changes_between(
        self, start: datetime, end: datetime, *, service: str | None = None, namespace: str | None = None
    ) -> list[ChangeEvent]: ...

    def enqueue(self, incident_id: str, kind: str, payload: dict[str, Any], now: datetime) -> int: ...

    def claim_job(self, worker: str, now: datetime) -> Job | None: ...

    def finish_job(self, job_id: int, now: datetime, error: str = "") -> None: ...

    def release_claims(self) -> int:
        """Return jobs claimed by a worker that died to the queue; returns how many."""

    def queue_depth(self) -> int: ...

    def append_audit(
        self, *, at: datetime, incident_id: str, kind: AuditKind, actor: str, data: dict[str, Any],
        hasher: Callable[[dict[str, Any]], str], signer: Callable[[str], str] | None = None,
    ) -> AuditRecord:
        """Append the next record: `hasher` gives its hash from the body, `signer` its mac from the hash."""

    def audit_records(self, incident_id: str | None = None) -> list[AuditRecord]: ...

    def audit_incidents_since(self, seq: int) -> list[str]:
        """The incidents (ids, '' included) that got audit records after `seq`, first-touched first."""

    def audit_head(self) -> tuple[int, str]:
        """The chain's head (last seq and hash), or (0, GENESIS) when the head row is absent."""

    def get_control(self, key: str) -> str | None: ...

    def set_control(self, key: str, value: str | None) -> None: ...

    # action intents (agent.store.intents): the executor's idempotency keys and one-action-per-target lock
    def begin_intent(
        self, *, key: str, incident_id: str, action: str, target: str, params: dict[str, Any],
        plan: dict[str, Any], actor: str, now: datetime,
    ) -> IntentClaim:
        """Store a `pending` intent unless the key exists or another intent on the target is in flight."""

    def get_intent(self, key: str) -> Intent | None: ...

    def set_intent_state(
        self, key: str, state: IntentState, now: datetime, result: dict[str, Any] | None = None
    ) -> None: ...

    def count_intents(self, target: str, since: datetime) -> int: ...

    def intents(self, incident_id: str | None = None) -> list[Intent]: ...

    def close(self) -> None: ...


def open_store(settings: Settings) -> Store:
    from agent.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path, busy_timeout_s=settings.store_busy_timeout_s)


__all__ = ["IntakeOutcome", "Intent", "IntentClaim", "IntentState", "Job", "Store", "open_store"]
