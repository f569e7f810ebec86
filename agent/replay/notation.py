"""promtool's expanding notation for series values (DESIGN.md section 3, "Sample notation").

    a+bxn   the n+1 values a, a+b, ..., a+n·b        (a-bxn likewise, counting down)
    axn     n+1 copies of a
    a       one value
    _       one missing sample;  _xn  n missing samples
    stale   a staleness marker

Values are separated by blanks. `expand` turns a notation string into one entry per step: a float, `None` for
a missing sample, or `STALE`.
"""

from __future__ import annotations

import math
import re
from typing import Final

from agent.errors import ConfigError


class _Stale:
    """The staleness marker: the series ended here (Prometheus stores it as a special NaN)."""

    _instance: _Stale | None = None

    def __new__(cls) -> _Stale:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STALE"


STALE: Final = _Stale()

Sample = float | None | _Stale
"""One expanded entry: a value, a missing sample (None) or the staleness marker."""

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|Inf|inf|NaN|nan)"
_EXPANDING = re.compile(rf"^(?P<a>{_NUMBER})(?P<op>[-+])(?P<b>{_NUMBER})x(?P<n>\d+)$")
_REPEAT = re.compile(rf"^(?P<a>{_NUMBER})x(?P<n>\d+)$")
_SINGLE = re.compile(rf"^{_NUMBER}$")
_MISSING = re.compile(r"^_(?:x(?P<n>\d+))?$")


def _number(text: str) -> float:
    lowered = text.lower().lstrip("+")
    if lowered in ("inf", "-inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    return float(text)


def expand_token(token: str) -> list[Sample]:
    """Expand one blank-separated token; raises ValueError naming the token when it is not notation."""
    if token == "stale":
        return [STALE]
    if m := _MISSING.match(token):
        return [None] * (int(m["n"]) if m["n"] is not None else 1)
    if m := _EXPANDING.match(token):
        a, b, n = _number(m["a"]), _number(m["b"]), int(m["n"])
        step = b if m["op"] == "+" else -b
        return [a + i * step for i in range(n + 1)]
    if m := _REPEAT.match(token):
        return [_number(m["a"])] * (int(m["n"]) + 1)
    if _SINGLE.match(token):
        return [_number(token)]
    raise ValueError(
        f"{token!r} is not promtool notation (expected a number, a+bxn, a-bxn, axn, _, _xn or stale)"
    )


def expand(values: str) -> list[Sample]:
    """Expand a whole notation string, e.g. `'0+50x140 7000x39'` (181 entries)."""
    out: list[Sample] = []
    for token in values.split():
        out.extend(expand_token(token))
    return out


def expand_checked(values: str, *, where: str) -> list[Sample]:
    """`expand`, raising ConfigError prefixed with `where` (a file and field) on bad notation."""
    try:
        return expand(values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


__all__ = ["STALE", "Sample", "expand", "expand_checked", "expand_token"]
