"""The bodies peers send us: Alertmanager's webhook (version 4) and change events.

These are trust-boundary types: strict about what must be there, tolerant of extra fields that a newer
Alertmanager may add, and turned into opsmedic's own models (`agent.models`) right after validation.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import InvalidRequest
from agent.models import Alert, ChangeEvent


class _Peer(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AMAlert(_Peer):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
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
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = Field(0, ge=0)
    alerts: list[AMAlert] = Field(min_length=1)

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

    at: datetime
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


def decode_json(raw: bytes) -> Any:
    """The JSON value of a request body; InvalidRequest saying why when it is not JSON."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from exc


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
