"""Relative times of scenario files: signed Prometheus durations (`-6m`, `-2h30m`, `+5m`) or zero (`0s`).

Any string value written that way — in the alert, the Kubernetes objects, logs, provider status and changes —
is a time. Unsigned non-zero durations are *not* times: that keeps Kubernetes quantities such as a CPU limit of
`500m` intact (opsmedic's reading of DESIGN.md section 3, documented in the README).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_UNITS = {"ms": timedelta(milliseconds=1), "s": timedelta(seconds=1), "m": timedelta(minutes=1),
          "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "y": timedelta(days=365)}
_DURATION = re.compile(r"^(?P<sign>[+-])?(?P<body>(?:\d+(?:ms|s|m|h|d|w|y))+)$")
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> timedelta | None:
    """A (signed) Prometheus duration such as `-2h30m`, or None when `text` is not one."""
    m = _DURATION.match(text)
    if not m:
        return None
    total = sum((int(n) * _UNITS[u] for n, u in _PART.findall(m["body"])), timedelta())
    return -total if m["sign"] == "-" else total


def relative_time(text: str) -> timedelta | None:
    """The offset a string stands for when it is a relative time (signed, or zero), else None."""
    m = _DURATION.match(text)
    if not m:
        return None
    offset = parse_duration(text)
    return offset if m["sign"] or offset == timedelta() else None


def rfc3339(at: datetime) -> str:
    at = at.astimezone(UTC)
    if at.microsecond:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def absolute(value: Any, instant: datetime) -> Any:
    """A deep copy of `value` with every relative-time string replaced by an RFC 3339 time."""
    if isinstance(value, str):
        offset = relative_time(value)
        return rfc3339(instant + offset) if offset is not None else value
    if isinstance(value, dict):
        return {k: absolute(v, instant) for k, v in value.items()}
    if isinstance(value, list):
        return [absolute(v, instant) for v in value]
    return value
