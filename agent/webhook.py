"""The bodies peers send us: Alertmanager's webhook (version 4) and change events.

These are trust-boundary types: strict about what must be there, tolerant of extra fields that a newer
Alertmanager may add, and turned into opsmedic's own models (`agent.models`) right after validation.

Every body is bounded before it is validated (`decode_json`): nesting, string lengths, integers, lone
surrogates; the models bound the numbers of alerts and labels. What passes can be stored, audited and
reasoned about without a crash further on; what does not is an InvalidRequest naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import InvalidRequest
from agent.models import Alert, ChangeEvent

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; Alertmanager's bodies are four levels deep."""
MAX_STRING = 32_768
"""Longest string (key or value) accepted, in characters."""
MAX_ALERTS = 1_000
"""Most alerts in one notification (Alertmanager's `max_alerts` keeps a big group under it), or changes in one post."""
MAX_LABELS = 256
"""Most labels or annotations in one mapping."""
INT64 = range(-(2**63), 2**63)
"""The integers SQLite can store."""

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _utc_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Time = Annotated[datetime, AfterValidator(_utc_if_naive)]
"""A time from a peer; one without an offset is taken as UTC, so that it compares with the server clock."""
Labels = Annotated[dict[str, str], Field(max_length=MAX_LABELS)]


class _Peer(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AMAlert(_Peer):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    startsAt: Time
    endsAt: Time | None = None
    generatorURL: str = ""
    fingerprint: str = ""

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels.alertname is required")
        return labels

    @field_validator("endsAt", mode="before")
    @classmethod
    def _zero_time_is_none(cls, value: Any) -> Any:
        # Alertmanager sends 0001-01-01T00:00:00Z for alerts that have not ended
        if isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        return value

    def to_alert(self) -> Alert:
        fingerprint = self.fingerprint or hashlib.sha256(
            json.dumps(sorted(self.labels.items())).encode()
        ).hexdigest()[:16]
        return Alert(
            fingerprint=fingerprint,
            status=self.status,
            labels=self.labels,
            annotations=self.annotations,
            starts_at=self.startsAt,
            ends_at=self.endsAt,
            generator_url=self.generatorURL,
        )


class AlertmanagerPayload(_Peer):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    groupKey: str = Field(min_length=1)
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = Field(0, ge=0)
    alerts: list[AMAlert] = Field(min_length=1, max_length=MAX_ALERTS)

    def times(self) -> Iterator[tuple[str, datetime]]:
        """Every time in the body, with where it is (for `check_time`)."""
        for i, alert in enumerate(self.alerts):
            yield f"alerts.{i}.startsAt", alert.startsAt
            if alert.endsAt is not None:
                yield f"alerts.{i}.endsAt", alert.endsAt

    def delivery_key(self) -> str:
        """Identifies a delivery: the same group with the same alerts in the same states is a duplicate."""
        states = sorted(f"{a.to_alert().fingerprint}:{a.status}" for a in self.alerts)
        return hashlib.sha256(json.dumps([self.groupKey, states]).encode()).hexdigest()

    def title(self) -> str:
        first = self.alerts[0]
        summary = self.commonAnnotations.get("summary") or first.annotations.get("summary", "")
        name = self.commonLabels.get("alertname") or first.labels["alertname"]
        return f"{name}: {summary}" if summary else name


class ChangePayload(_Peer):
    """One change event posted to `/changes` (DESIGN.md section 3, `changes`)."""

    at: Time
    kind: str = Field(min_length=1)
    service: str = ""
    namespace: str = ""
    name: str = ""
    from_: str = Field("", alias="from")
    to: str = ""
    actor: str = ""

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _versions_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def to_change(self, source: str = "api") -> ChangeEvent:
        extra = dict(self.model_extra or {})
        return ChangeEvent.model_validate({
            "at": self.at, "kind": self.kind, "service": self.service, "namespace": self.namespace,
            "name": self.name, "from": self.from_, "to": self.to, "actor": self.actor, "source": source,
            "extra": extra,
        })


def check_time(value: datetime, where: str, now: datetime, *, past: timedelta, ahead: timedelta) -> None:
    """InvalidRequest unless `value` lies between `past` before and `ahead` after `now`.

    The worker reasons over windows before and after these times; in years 1 or 9999 that arithmetic
    overflows, and the incident would be stuck. Refusing them here tells the sender instead.
    """
    if not now - past <= value <= now + ahead:
        raise InvalidRequest(f"{where}: {value.isoformat()} is outside the accepted window, {past.days} days "
                             f"before to {ahead.total_seconds():.0f} s after the server's clock ({now.isoformat()})")


def decode_json(raw: bytes) -> Any:
    """The JSON value of a request body; InvalidRequest saying why when it is not JSON or not within bounds.

    Bounded because every failure would otherwise come later, as a 5xx that Alertmanager retries forever:
    deep nesting (json.loads and pydantic recurse), integers SQLite cannot store, lone surrogates (valid
    JSON escapes that cannot be encoded to UTF-8), and strings long enough to swamp the audit log.
    """
    try:
        data = json.loads(raw, parse_int=_int)
    except RecursionError as exc:
        raise InvalidRequest(f"body: nested deeper than {MAX_DEPTH} levels") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from exc
    _check_bounds(data)
    return data


def _int(text: str) -> int:
    # the length check first: int() refuses more than 4300 digits with a ValueError of its own
    value = int(text) if len(text) <= 20 else INT64.stop
    if value not in INT64:
        raise InvalidRequest(f"body: the integer {text[:24]}{'...' if len(text) > 24 else ''} is outside "
                             f"the signed 64-bit range")
    return value


def _check_bounds(data: Any) -> None:
    """Walks the decoded value without recursion; a path is (key, parent path), joined only for a message."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidRequest(f"{_where(path)}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key, path, what="a key")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((item, depth + 1, (key, path)) for key, item in items)


def _check_text(text: str, path: tuple[Any, ...], what: str = "a string") -> None:
    if len(text) > MAX_STRING:
        raise InvalidRequest(f"{_where(path)}: {what} longer than {MAX_STRING} characters")
    if _SURROGATE.search(text):
        raise InvalidRequest(f"{_where(path)}: {what} holds a lone surrogate (\\ud800-\\udfff), not text")


def _where(path: tuple[Any, ...]) -> str:
    """`alerts.0.labels`, as pydantic says it; only the first levels and the start of each key."""
    parts = []
    while path:
        key, path = path
        parts.append(str(key)[:40])
    parts.reverse()
    return ".".join(parts[:8]) + (".…" if len(parts) > 8 else "") if parts else "body"


def parse_body(raw: bytes, model: type[BaseModel]) -> Any:
    """Decode and validate a JSON body; raises InvalidRequest naming the first problem."""
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation(exc)) from exc


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
