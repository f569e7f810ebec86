"""The tamper-evident audit log (DESIGN.md section 8).

Each record's `hash` is sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the record without
its hash — `seq`, `at`, `incident_id`, `kind`, `actor`, `data`, `prev_hash` — so editing, removing or
reordering any record breaks the chain from that record on. The store also keeps the chain's head (last seq
and hash), so cutting records off the end is caught too.

Secrets are redacted before anything is written: configured secret values verbatim, anything matching the
configured patterns, and the values of keys that name a secret (token, password, authorization, ...).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.models import AuditKind, AuditRecord
from agent.store import Store
from agent.store.sqlite import GENESIS

REDACTED = "[REDACTED]"
SECRET_KEYS = re.compile(r"(?i)(token|secret|password|passwd|api[_-]?key|authorization|credential|cookie)")


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def record_hash(body: dict[str, Any]) -> str:
    """The hash of a record given without its `hash` field (and with `at` as ISO text)."""
    return hashlib.sha256(canonical(body)).hexdigest()


class Redactor:
    def __init__(self, patterns: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        self._patterns = [re.compile(p) for p in patterns]
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        for pattern in self._patterns:
            value = pattern.sub(REDACTED, value)
        return value

    def __call__(self, value: Any, key: str = "") -> Any:
        if key and SECRET_KEYS.search(key) and isinstance(value, str | bytes) and value:
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    problem: str = ""
    seq: int | None = None
    """The first record found edited, removed (the one after the gap) or out of order."""


class AuditLog:
    """Appends redacted records to the store's hash chain and verifies the chain."""

    def __init__(
        self, store: Store, redactor: Redactor | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._store = store
        self._redact = redactor or Redactor()
        self._clock = clock or (lambda: datetime.now(UTC))

    def append(
        self, incident_id: str, kind: AuditKind, actor: str, data: dict[str, Any], *, at: datetime | None = None
    ) -> AuditRecord:
        clean = json.loads(json.dumps(self._redact(data), default=str))
        return self._store.append_audit(
            at=at or self._clock(), incident_id=incident_id, kind=kind, actor=self._redact.text(actor),
            data=clean, hasher=record_hash,
        )

    def records(self, incident_id: str | None = None) -> list[AuditRecord]:
        return self._store.audit_records(incident_id)

    def verify(self) -> VerifyResult:
        return verify_chain(self._store.audit_records(), self._store.audit_head())


def verify_chain(records: list[AuditRecord], head: tuple[int, str] | None = None) -> VerifyResult:
    prev_hash, expected_seq = GENESIS, 1
    for record in records:
        body = record.model_dump(mode="json", exclude={"hash"})
        body["at"] = record.at.isoformat()
        if record.seq != expected_seq:
            if record.seq > expected_seq:
                problem = f"record {expected_seq} was removed (the chain jumps to record {record.seq})"
                return VerifyResult(False, len(records), problem, expected_seq)
            problem = f"record {record.seq} is out of order (found where record {expected_seq} belongs)"
            return VerifyResult(False, len(records), problem, record.seq)
        if record_hash(body) != record.hash:
            return VerifyResult(False, len(records), f"record {record.seq} was edited", record.seq)
        if record.prev_hash != prev_hash:
            problem = f"record {record.seq} does not follow record {record.seq - 1} (removed or reordered)"
            return VerifyResult(False, len(records), problem, record.seq)
        prev_hash, expected_seq = record.hash, expected_seq + 1
    if head is not None and head[0] > 0 and (head[0] != expected_seq - 1 or head[1] != prev_hash):
        problem = f"record {expected_seq} was removed (the log ends before the recorded head, record {head[0]})"
        return VerifyResult(False, len(records), problem, expected_seq)
    return VerifyResult(True, len(records))
