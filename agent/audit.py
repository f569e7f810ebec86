"""The tamper-evident audit log (DESIGN.md section 8).

Each record's `hash` is sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the record without
its hash — `seq`, `at`, `incident_id`, `kind`, `actor`, `data`, `prev_hash` — so editing, removing or
reordering any record breaks the chain from that record on. The store also keeps the chain's head (last seq
and hash), so cutting records off the end is caught too.

All of that lives in the database, so whoever can write it can rewrite the whole chain consistently. With a
`Seal` (agent.audit_seal) the log is anchored outside it: every record carries a mac under a key the database
does not hold, and signed checkpoints of the head go to a file of their own. `verify` then checks the macs
and that every checkpoint still matches the chain.

Secrets are redacted before anything is written: configured secret values verbatim, anything matching the
configured patterns, and the values of keys that name a secret (token, password, authorization, ...).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.models import AuditKind, AuditRecord
from agent.store import Store
from agent.store.sqlite import AUDIT_HEAD, GENESIS

if TYPE_CHECKING:
    from agent.audit_seal import Checkpoint, Seal

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
SECRET_WORDS = frozenset({"password", "passwd", "secret", "authorization", "credential", "credentials", "cookie",
                          "apikey", "passphrase"})
SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")})


def secret_key(name: str) -> bool:
    """Whether a mapping key names a secret: `password`, `client_secret`, `apiKey`, `access_token`, `token` — but
    not `tokens`, `token_count` or `idempotency_key`, which hold counts and ids."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().replace("-", "_").split("_")
    words = [w for w in words if w]
    if not words:
        return False
    if SECRET_WORDS & set(words) or words[-1] == "token":
        return True
    return any(pair in SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


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
            value = pattern.sub(_replacement, value)
        return value

    def __call__(self, value: Any, key: str = "") -> Any:
        if key and secret_key(key) and value not in (None, "", b"", [], {}) and not isinstance(value, bool):
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


def _replacement(match: re.Match[str]) -> str:
    """The whole match goes, unless the pattern marks the secret part with a `secret` group (key=value)."""
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + REDACTED + whole[end - offset:]
    return REDACTED


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    problem: str = ""
    seq: int | None = None
    """The first record found edited, removed (the one after the gap) or out of order."""
    checkpoints: int = 0
    """How many checkpoints matched the chain."""


class AuditLog:
    """Appends redacted records to the store's hash chain and verifies the chain."""

    def __init__(
        self, store: Store, redactor: Redactor | None = None, clock: Callable[[], datetime] | None = None,
        seal: Seal | None = None,
    ) -> None:
        self._store = store
        self._redact = redactor or Redactor()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.seal = seal
        self.redactor = self._redact
        """The same redactor serves Slack, the HTTP API and the LLM's context."""
        """Without one, records get no mac and `verify` checks the chain alone (tests, library use)."""

    def append(
        self, incident_id: str, kind: AuditKind, actor: str, data: dict[str, Any], *, at: datetime | None = None
    ) -> AuditRecord:
        clean = json.loads(json.dumps(self._redact(data), default=str))
        record = self._store.append_audit(
            at=at or self._clock(), incident_id=incident_id, kind=kind, actor=self._redact.text(actor),
            data=clean, hasher=record_hash, signer=self.seal.sign if self.seal else None,
        )
        if self.seal is not None and record.seq % self.seal.every == 0:
            try:
                self.seal.checkpoint(record.seq, record.hash, self._clock())
            except OSError as exc:  # the record is stored; failing the caller would not unstore it
                log.error("audit checkpoint of record %d could not be written to %s: %s", record.seq,
                          self.seal.checkpoint_file, exc)
        return record

    def records(self, incident_id: str | None = None) -> list[AuditRecord]:
        return self._store.audit_records(incident_id)

    def checkpoint(self) -> Checkpoint | None:
        """Checkpoint the current head, unless the last checkpoint already holds it. None without a seal or
        before the first record (there is nothing to vouch for)."""
        if self.seal is None:
            return None
        seq, digest = self._store.audit_head()
        if seq == 0:
            return None
        written = self.seal.checkpoints()
        last = written[-1][1] if written else None
        if last is not None and (last.seq, last.hash) == (seq, digest):
            return last
        return self.seal.checkpoint(seq, digest, self._clock())

    def close(self) -> None:
        """Checkpoint the head on the way out, so that records written since the last interval are vouched for
        too. The store is the caller's to close."""
        self.checkpoint()

    def verify(self) -> VerifyResult:
        """The chain and the head row; with a seal also every mac and every checkpoint."""
        records = self._store.audit_records()
        has_head = self._store.get_control(AUDIT_HEAD) is not None
        result = verify_chain(records, self._store.audit_head() if has_head else None, self.seal)
        if result.ok and records and not has_head:
            problem = "the chain's head row is missing (records may have been cut off the end)"
            return VerifyResult(False, len(records), problem, len(records) + 1)
        if not result.ok or self.seal is None:
            return result
        return verify_checkpoints(records, self.seal)


def verify_checkpoints(records: list[AuditRecord], seal: Seal) -> VerifyResult:
    """Every checkpoint against a chain already verified to run 1..len(records); and that the checkpoint due
    by the interval is there."""
    checkpoints = seal.checkpoints()
    for line, point in checkpoints:
        problem, seq = _checkpoint_problem(records, line, point)
        if problem:
            return VerifyResult(False, len(records), f"{problem} ({seal.checkpoint_file})", seq)
    due = len(records) // seal.every * seal.every
    if due and not any(point is not None and point.seq >= due for _, point in checkpoints):
        problem = (f"no checkpoint at or after record {due}, though one is written every {seal.every} records: "
                   f"the checkpoint file {seal.checkpoint_file} was cut back or removed")
        return VerifyResult(False, len(records), problem)
    return VerifyResult(True, len(records), checkpoints=len(checkpoints))


def _checkpoint_problem(records: list[AuditRecord], line: int, point: Checkpoint | None) -> tuple[str, int | None]:
    """What is wrong between one checkpoint and the chain, if anything; and the record it names."""
    if point is None:
        return f"checkpoint line {line} was edited or signed with another key (its mac does not match)", None
    if point.seq > len(records):
        end = f"the log ends at record {len(records)}" if records else "the log is empty"
        problem = f"records were cut off the end: checkpoint line {line} vouches for record {point.seq}, {end}"
        return problem, len(records) + 1
    if records[point.seq - 1].hash != point.hash:
        return (f"the chain was rewritten at or before record {point.seq}: its hash is not the one checkpoint "
                f"line {line} vouches for"), point.seq
    return "", None


def verify_chain(
    records: list[AuditRecord], head: tuple[int, str] | None = None, seal: Seal | None = None
) -> VerifyResult:
    prev_hash, expected_seq = GENESIS, 1
    for record in records:
        body = record.model_dump(mode="json", exclude={"hash", "mac"})
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
        if seal is not None and not record.mac:
            problem = f"record {record.seq} has no mac (its mac was removed, or it was written without the key)"
            return VerifyResult(False, len(records), problem, record.seq)
        if seal is not None and not seal.signed(record.hash, record.mac):
            problem = (f"record {record.seq} has a wrong mac (it was rewritten, or the audit key is not the one "
                       "it was written with)")
            return VerifyResult(False, len(records), problem, record.seq)
        prev_hash, expected_seq = record.hash, expected_seq + 1
    if head is not None and head[0] > 0 and (head[0] != expected_seq - 1 or head[1] != prev_hash):
        problem = f"record {expected_seq} was removed (the log ends before the recorded head, record {head[0]})"
        return VerifyResult(False, len(records), problem, expected_seq)
    return VerifyResult(True, len(records))
