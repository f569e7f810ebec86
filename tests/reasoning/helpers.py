"""Builders for reasoner tests: incidents, evidence and changes as the tools and the store would hand them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.models import Alert, ChangeEvent, Evidence, Incident
from agent.reasoning.findings import Situation

INSTANT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ago(minutes: float) -> datetime:
    return INSTANT - timedelta(minutes=minutes)


def incident(labels: dict[str, str], *, started_min_ago: float = 4, status: str = "firing") -> Incident:
    alert = Alert(fingerprint="f1", status=status, labels=labels, starts_at=ago(started_min_ago))  # type: ignore[arg-type]
    return Incident(id="inc-1", group_key="g", status="investigating", title=labels.get("alertname", ""),
                    labels=labels, alerts=[alert], instant=INSTANT, created_at=INSTANT, updated_at=INSTANT)


def change(kind: str, minutes_ago: float, **kw: Any) -> ChangeEvent:
    return ChangeEvent(at=ago(minutes_ago), kind=kind, **kw)


def evidence(tool: str, data: Any, status: str = "ok", eid: str = "") -> Evidence:
    return Evidence(id=eid or f"{tool}-1", tool=tool, status=status, query="q", data=data)  # type: ignore[arg-type]


def situation(labels: dict[str, str], evidence_list: list[Evidence] | None = None,
              changes: list[ChangeEvent] | None = None, **kw: Any) -> Situation:
    return Situation(incident(labels, **kw), evidence_list or [], changes or [], INSTANT)


def alert_condition(holds: bool, *, baseline_share: float = 0.0, eid: str = "ev-alert") -> Evidence:
    """The alert_window evidence: the alert's own condition holding at the instant, or cleared."""
    data = {"holds_now": holds, "held_in_for": holds, "baseline_share": baseline_share}
    return evidence("alert_window", data, status="ok" if holds else "no_data", eid=eid)
