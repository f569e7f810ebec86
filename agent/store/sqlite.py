"""SQLite implementation of the store (WAL mode, one file, safe across processes).

Writes run in `BEGIN IMMEDIATE` transactions, so concurrent writers (the server, the worker, the CLI) queue on
SQLite's lock for up to `busy_timeout_s`; past that the write fails with StoreUnavailable and nothing changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import NotFound, StoreUnavailable
from agent.models import Alert, AuditKind, AuditRecord, ChangeEvent, Incident, IncidentStatus
from agent.store import IntakeOutcome, Job
from agent.store.intents import INTENTS_SCHEMA, IntentsMixin
from agent.webhook import AlertmanagerPayload

GENESIS = "0" * 64
SQLITE_HEADER = b"SQLite format 3\x00"
AUDIT_HEAD = "audit_head"
"""The control row holding the chain's head, `[seq, hash]`."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    labels TEXT NOT NULL,
    alerts TEXT NOT NULL,
    instant TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    truncated_alerts INTEGER NOT NULL DEFAULT 0,
    requester TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS incidents_group ON incidents(group_key, status);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    delivery_key TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_delivery ON notifications(incident_id, delivery_key);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    namespace TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_at ON changes(at);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    claimed_by TEXT,
    finished_at TEXT,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(finished_at, claimed_by);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_incident ON audit(incident_id);
CREATE TABLE IF NOT EXISTS controls (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _ts(value: datetime) -> str:
    return value.isoformat()


def _utc(value: datetime) -> str:
    """A sortable text form: UTC, fixed width (comparisons in SQL stay correct)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class SqliteStore(IntentsMixin):
    def __init__(self, path: Path | str, *, busy_timeout_s: float = 2.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            with self._write() as db:
                for statement in _statements(SCHEMA + INTENTS_SCHEMA):
                    db.execute(statement)
                _migrate(db)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the store at {self.path}: {exc}") from exc
        self._identity = _identity(os.stat(self.path))

    # -- plumbing -------------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any SQLite failure becomes StoreUnavailable with nothing written."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"the store at {self.path} cannot be written now: {exc}") from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreUnavailable(f"the store at {self.path} cannot be written now: {exc}") from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"the store at {self.path} cannot be read now: {exc}") from exc

    def ping(self) -> None:
        """Readiness: the file opened is still the store on disk and still a database, and a write needing a
        fresh page goes through (and is rolled back). A mere SELECT passes on a file deleted or overwritten
        under the open connection, or on a full disk, and intake would then lose what it acknowledges."""
        self._check_file()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    page = self._db.execute("PRAGMA page_size").fetchone()[0]
                    self._db.execute("INSERT OR REPLACE INTO controls(key, value) VALUES ('readyz', zeroblob(?))",
                                     (page,))
                finally:
                    self._rollback()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"the store at {self.path} cannot be written now: {exc}") from exc

    def _check_file(self) -> None:
        try:
            identity = _identity(os.stat(self.path))
            with open(self.path, "rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise StoreUnavailable(f"the store file {self.path} was deleted or cannot be read: {exc.strerror}") from exc
        if identity != self._identity:
            raise StoreUnavailable(f"the store file {self.path} was deleted or replaced since it was opened")
        if header != SQLITE_HEADER:
            raise StoreUnavailable(f"the store file {self.path} is not an SQLite database (overwritten or corrupt)")
        if not os.access(self.path, os.W_OK):
            raise StoreUnavailable(f"the store file {self.path} is read-only")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- incidents --------------------------------------------------------------------------------------------

    def record_notification(
        self, payload: AlertmanagerPayload, instant: datetime, received_at: datetime
    ) -> IntakeOutcome:
        key = payload.delivery_key()
        incoming = [a.to_alert() for a in payload.alerts]
        body = payload.model_dump_json(by_alias=True)
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM incidents WHERE group_key = ? AND status != 'closed' "
                "ORDER BY created_at DESC LIMIT 1",
                (payload.groupKey,),
            ).fetchone()
            if row is None:
                status: IncidentStatus
                if payload.status == "resolved" and all(a.status == "resolved" for a in incoming):
                    status = "resolved"
                else:
                    status = "open"
                incident = Incident(
                    id=_new_id(received_at), group_key=payload.groupKey, status=status,
                    source="alertmanager", title=payload.title(), labels=payload.commonLabels,
                    alerts=incoming, instant=instant, created_at=received_at, updated_at=received_at,
                    truncated_alerts=payload.truncatedAlerts,
                )
                self._insert_incident(db, incident)
                db.execute(
                    "INSERT INTO notifications(incident_id, delivery_key, received_at, body) VALUES (?,?,?,?)",
                    (incident.id, key, _ts(received_at), body),
                )
                if status == "open":
                    self._enqueue(db, incident.id, "investigate", {}, received_at)
                return IntakeOutcome(incident=incident, created=True, duplicate=False)

            incident = _incident(row)
            seen = db.execute(
                "SELECT 1 FROM notifications WHERE incident_id = ? AND delivery_key = ? LIMIT 1",
                (incident.id, key),
            ).fetchone()
            db.execute(
                "INSERT INTO notifications(incident_id, delivery_key, received_at, body) VALUES (?,?,?,?)",
                (incident.id, key, _ts(received_at), body),
            )
            alerts = {a.fingerprint: a for a in incident.alerts}
            for alert in incoming:
                alerts[alert.fingerprint] = alert
            merged = list(alerts.values())
            status = incident.status
            if all(a.status == "resolved" for a in merged) and status in ("open", "investigating"):
                status = "resolved"
            elif any(a.status == "firing" for a in merged) and status == "resolved":
                status = "open"
            updated = incident.model_copy(
                update={
                    "alerts": merged,
                    "status": status,
                    "deliveries": incident.deliveries + 1,
                    "truncated_alerts": max(incident.truncated_alerts, payload.truncatedAlerts),
                    "updated_at": received_at,
                }
            )
            db.execute(
                "UPDATE incidents SET alerts=?, status=?, deliveries=?, truncated_alerts=?, updated_at=? "
                "WHERE id=?",
                (
                    json.dumps([a.model_dump(mode="json") for a in merged]), status, updated.deliveries,
                    updated.truncated_alerts, _ts(received_at), incident.id,
                ),
            )
            return IntakeOutcome(incident=updated, created=False, duplicate=seen is not None)

    def open_incident(
        self, *, title: str, labels: dict[str, str], instant: datetime, source: str, requester: str,
        now: datetime,
    ) -> Incident:
        incident_id = _new_id(now)
        incident = Incident(
            id=incident_id, group_key=f"{source}:{incident_id}", status="open", source=source,  # type: ignore[arg-type]
            title=title, labels=labels, instant=instant, created_at=now, updated_at=now, requester=requester,
        )
        with self._write() as db:
            self._insert_incident(db, incident)
            self._enqueue(db, incident.id, "investigate", {}, now)
        return incident

    def _insert_incident(self, db: sqlite3.Connection, incident: Incident) -> None:
        db.execute(
            "INSERT INTO incidents(id, group_key, status, source, title, labels, alerts, instant, created_at, "
            "updated_at, deliveries, truncated_alerts, requester) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                incident.id, incident.group_key, incident.status, incident.source, incident.title,
                json.dumps(incident.labels), json.dumps([a.model_dump(mode="json") for a in incident.alerts]),
                _ts(incident.instant), _ts(incident.created_at), _ts(incident.updated_at), incident.deliveries,
                incident.truncated_alerts, incident.requester,
            ),
        )

    def get_incident(self, incident_id: str) -> Incident:
        rows = self._read("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if not rows:
            raise NotFound(f"no incident {incident_id!r}; `opsmedic incidents list` shows the known ones")
        return _incident(rows[0])

    def list_incidents(self, *, status: str | None = None, limit: int = 50) -> list[Incident]:
        if status:
            rows = self._read(
                "SELECT * FROM incidents WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit)
            )
        else:
            rows = self._read("SELECT * FROM incidents ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_incident(r) for r in rows]

    def set_incident_status(self, incident_id: str, status: str, now: datetime) -> None:
        with self._write() as db:
            cur = db.execute(
                "UPDATE incidents SET status = ?, updated_at = ? WHERE id = ?", (status, _ts(now), incident_id)
            )
            if cur.rowcount == 0:
                raise NotFound(f"no incident {incident_id!r}")

    # -- changes ---------------------------------------------------------------------------------------------

    def record_change(self, change: ChangeEvent) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO changes(at, kind, service, namespace, body) VALUES (?,?,?,?,?)",
                (_utc(change.at), change.kind, change.service, change.namespace,
                 change.model_dump_json(by_alias=True)),
            )
            return int(cur.lastrowid or 0)

    def changes_between(
        self, start: datetime, end: datetime, *, service: str | None = None, namespace: str | None = None
    ) -> list[ChangeEvent]:
        """Changes with `start <= at <= end`, oldest first; a change without a service or namespace matches any."""
        sql, args = "SELECT body FROM changes WHERE at >= ? AND at <= ?", [_utc(start), _utc(end)]
        if service:
            sql += " AND (service = '' OR service = ?)"
            args.append(service)
        if namespace:
            sql += " AND (namespace = '' OR namespace = ?)"
            args.append(namespace)
        rows = self._read(sql + " ORDER BY at, id", tuple(args))
        return [ChangeEvent.model_validate_json(row["body"]) for row in rows]

    # -- the work queue ---------------------------------------------------------------------------------------

    def enqueue(self, incident_id: str, kind: str, payload: dict[str, Any], now: datetime) -> int:
        with self._write() as db:
            return self._enqueue(db, incident_id, kind, payload, now)

    def _enqueue(
        self, db: sqlite3.Connection, incident_id: str, kind: str, payload: dict[str, Any], now: datetime
    ) -> int:
        cur = db.execute(
            "INSERT INTO jobs(incident_id, kind, payload, created_at) VALUES (?,?,?,?)",
            (incident_id, kind, json.dumps(payload), _ts(now)),
        )
        return int(cur.lastrowid or 0)

    def claim_job(self, worker: str, now: datetime) -> Job | None:
        with self._write() as db:
            # one job per incident at a time: skip incidents with a job already claimed
            row = db.execute(
                "SELECT * FROM jobs j WHERE finished_at IS NULL AND claimed_by IS NULL AND NOT EXISTS ("
                " SELECT 1 FROM jobs k WHERE k.incident_id = j.incident_id AND k.finished_at IS NULL"
                " AND k.claimed_by IS NOT NULL) ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET claimed_by = ? WHERE id = ?", (worker, row["id"]))
            return Job(id=row["id"], incident_id=row["incident_id"], kind=row["kind"],
                       payload=json.loads(row["payload"]))

    def finish_job(self, job_id: int, now: datetime, error: str = "") -> None:
        with self._write() as db:
            db.execute("UPDATE jobs SET finished_at = ?, error = ? WHERE id = ?", (_ts(now), error, job_id))

    def release_claims(self) -> int:
        with self._write() as db:
            cur = db.execute("UPDATE jobs SET claimed_by = NULL WHERE finished_at IS NULL AND claimed_by IS NOT NULL")
            return cur.rowcount

    def queue_depth(self) -> int:
        return int(self._read("SELECT count(*) AS n FROM jobs WHERE finished_at IS NULL")[0]["n"])

    # -- the audit chain --------------------------------------------------------------------------------------

    def append_audit(
        self, *, at: datetime, incident_id: str, kind: AuditKind, actor: str, data: dict[str, Any],
        hasher: Callable[[dict[str, Any]], str], signer: Callable[[str], str] | None = None,
    ) -> AuditRecord:
        with self._write() as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            body = {"seq": seq, "at": _ts(at), "incident_id": incident_id, "kind": kind, "actor": actor,
                    "data": data, "prev_hash": prev}
            digest = hasher(body)
            mac = signer(digest) if signer else ""
            db.execute(
                "INSERT INTO audit(seq, at, incident_id, kind, actor, data, prev_hash, hash, mac) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, _ts(at), incident_id, kind, actor, json.dumps(data, sort_keys=True), prev, digest, mac),
            )
            db.execute(
                "INSERT INTO controls(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (AUDIT_HEAD, json.dumps([seq, digest])),
            )
        return AuditRecord(seq=seq, at=at, incident_id=incident_id, kind=kind, actor=actor, data=data,
                           prev_hash=prev, hash=digest, mac=mac)

    def audit_records(self, incident_id: str | None = None) -> list[AuditRecord]:
        if incident_id:
            rows = self._read("SELECT * FROM audit WHERE incident_id = ? ORDER BY rowid", (incident_id,))
        else:
            rows = self._read("SELECT * FROM audit ORDER BY rowid")
        return [
            AuditRecord(seq=r["seq"], at=_dt(r["at"]), incident_id=r["incident_id"], kind=r["kind"],
                        actor=r["actor"], data=json.loads(r["data"]), prev_hash=r["prev_hash"], hash=r["hash"],
                        mac=r["mac"])
            for r in rows
        ]

    def audit_incidents_since(self, seq: int) -> list[str]:
        rows = self._read("SELECT incident_id FROM audit WHERE seq > ? GROUP BY incident_id ORDER BY MIN(seq)",
                          (seq,))
        return [r["incident_id"] for r in rows]

    def audit_head(self) -> tuple[int, str]:
        value = self.get_control(AUDIT_HEAD)
        if value is None:
            return 0, GENESIS
        seq, digest = json.loads(value)
        return int(seq), str(digest)

    # -- controls ---------------------------------------------------------------------------------------------

    def get_control(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM controls WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_control(self, key: str, value: str | None) -> None:
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM controls WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO controls(key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store made by an earlier version up to the schema: columns added since are added here."""
    audit_columns = {row["name"] for row in db.execute("PRAGMA table_info(audit)")}
    if "mac" not in audit_columns:
        db.execute("ALTER TABLE audit ADD COLUMN mac TEXT NOT NULL DEFAULT ''")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _new_id(now: datetime) -> str:
    return f"inc-{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def _incident(row: sqlite3.Row) -> Incident:
    return Incident(
        id=row["id"], group_key=row["group_key"], status=row["status"], source=row["source"],
        title=row["title"], labels=json.loads(row["labels"]),
        alerts=[Alert.model_validate(a) for a in json.loads(row["alerts"])],
        instant=_dt(row["instant"]), created_at=_dt(row["created_at"]), updated_at=_dt(row["updated_at"]),
        deliveries=row["deliveries"], truncated_alerts=row["truncated_alerts"], requester=row["requester"],
    )
