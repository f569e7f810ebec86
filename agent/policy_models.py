"""The policy file format (DESIGN.md section 7), as pydantic models: a policy file crosses a trust boundary.

    rules:                                   # ordered; the first rule that matches decides; no match denies
      - name: no-changes-in-protected-namespaces
        match:
          actions: ["k8s.*", "provider.*"]   # glob patterns over action types; absent or [] = any
          namespaces: ["prod", "team-*"]
          environments: [production]
          services: [chat]
          severities: [critical]
          namespace_labels: {opsmedic.io/protected: "true"}   # every label must be on the Namespace
        effect: deny                         # allow | require_approval | deny
        approvers: [U012ABC, S0SRETEAM]      # Slack user or user-group ids; [] = anyone but requester and bot
        min_approvals: 2                     # the two-person rule; the requester and the bot never count
        approval_ttl: 30m                    # an approval must arrive within this of the decision
        limits: {max_replicas: 20, max_replica_change: 5, max_per_hour: 3}
        freeze:                              # while a window is open the rule denies instead
          - {start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z", reason: holidays}
          - {days: [sat, sun], from: "00:00", to: "23:59", reason: weekends}   # weekly, UTC
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.models import Effect

DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def duration_seconds(value: str | int) -> int:
    """`"30m"` → 1800; a bare integer is seconds."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    found = DURATION.match(value.strip())
    if not found:
        raise ValueError(f"{value!r} is not a duration such as 90s, 30m, 2h or 1d")
    return int(found.group(1)) * UNITS[found.group(2)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(Strict):
    """What a rule applies to; every given list must contain a matching pattern (glob, `*` allowed)."""

    actions: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    namespace_labels: dict[str, str] = Field(default_factory=dict)


class Limits(Strict):
    max_replicas: int | None = Field(None, ge=0)
    """`k8s.scale` may not set more replicas than this."""
    max_replica_change: int | None = Field(None, ge=0)
    """`k8s.scale` may not move the replica count by more than this (up or down)."""
    max_per_hour: int | None = Field(None, ge=0)
    """At most this many actions on the same target in any hour."""


class FreezeWindow(Strict):
    """Either an absolute window (`start`, `end`) or a weekly one (`days`, `from`, `to`, UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    start: datetime | None = None
    end: datetime | None = None
    days: list[Day] = Field(default_factory=list)
    from_: time | None = Field(None, alias="from")
    to: time | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> FreezeWindow:
        absolute = self.start is not None or self.end is not None
        weekly = bool(self.days) or self.from_ is not None or self.to is not None
        if absolute == weekly:
            raise ValueError("a freeze window needs either start and end, or days with from and to")
        if absolute and (self.start is None or self.end is None):
            raise ValueError("an absolute freeze window needs both start and end")
        if absolute and self.start and self.end:
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("freeze start and end need a time zone, e.g. 2026-12-24T00:00:00Z")
            if self.end <= self.start:
                raise ValueError("freeze end must come after start")
        if weekly and (not self.days or self.from_ is None or self.to is None):
            raise ValueError("a weekly freeze window needs days, from and to")
        return self

    def covers(self, now: datetime) -> bool:
        """Whether `now` falls in the window.

        Absolute windows are `[start, end)`. Weekly windows start at `from` on each listed day (UTC) and last
        to the end of the minute `to` names (`to: 23:59` covers the day's last minute whole; `to: 17:00:30`
        ends after that second). A window whose `to` is earlier than its `from` crosses midnight: it starts
        on the listed day and ends on the next.
        """
        if self.start is not None and self.end is not None:
            return self.start <= now < self.end
        assert self.from_ is not None and self.to is not None
        start = timedelta(hours=self.from_.hour, minutes=self.from_.minute, seconds=self.from_.second)
        end = timedelta(hours=self.to.hour, minutes=self.to.minute, seconds=self.to.second)
        end += timedelta(minutes=1) if self.to.second == 0 and self.to.microsecond == 0 else timedelta(seconds=1)
        if end <= start:
            end += timedelta(days=1)
        utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        for back in (0, 1):  # a window begun today, or one begun yesterday that crossed midnight
            day = utc.date() - timedelta(days=back)
            if DAYS[day.weekday()] not in self.days:
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if midnight + start <= utc < midnight + end:
                return True
        return False


class Rule(Strict):
    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    effect: Effect
    approvers: list[str] = Field(default_factory=list)
    min_approvals: int = Field(1, ge=0, le=10)
    approval_ttl: str | int = "1h"
    limits: Limits = Field(default_factory=lambda: Limits.model_validate({}))
    freeze: list[FreezeWindow] = Field(default_factory=list)

    @field_validator("approval_ttl")
    @classmethod
    def _ttl(cls, value: str | int) -> str | int:
        if duration_seconds(value) <= 0:
            raise ValueError("approval_ttl must be positive")
        return value

    @model_validator(mode="after")
    def _approvals(self) -> Rule:
        if self.effect == "require_approval" and self.min_approvals < 1:
            raise ValueError("require_approval needs min_approvals of at least 1")
        return self

    @property
    def approval_ttl_s(self) -> int:
        return duration_seconds(self.approval_ttl)


class PolicyFile(Strict):
    rules: list[Rule] = Field(min_length=1)
    freeze: list[FreezeWindow] = Field(default_factory=list)
    """Windows in which every change (anything but `notify.escalate` and `read.*`) is denied."""
