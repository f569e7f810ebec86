"""Anomaly score of one series: the window after onset against its own baseline, with robust statistics (read-only).

The baseline is the hour (or more) before the window, plus the same span a day earlier when Prometheus holds it.
Its centre is the median and its spread the MAD scaled by 1.4826 (so it estimates a standard deviation for normal
data); a point's robust z is `(value - median) / spread`. A point is abnormal at |z| >= 3.5, the cut-off
Iglewicz and Hoaglin recommend for the modified z-score; the window is anomalous only when at least two
consecutive points are abnormal in the same direction, so one odd scrape is not an incident.

A ratio measured on few events (an error ratio on 20 requests) is noisy by nature: `floor` lets the caller put a
lower bound on the spread (for a ratio p over n events, the binomial standard deviation sqrt(p(1-p)/n)), so one
error in twenty requests is not an anomaly. A series that was already abnormal before the window (its baseline
scores abnormal against the day before, or the caller says so, e.g. an error ratio whose baseline median is at
least 50 %) is `chronic`: a standing failure, not a new anomaly.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from agent.models import Evidence
from tools.prometheus import QueryFailed, iso, query_matrix
from tools.result import result

TOOL = "anomaly"
THRESHOLD = 3.5
"""Robust units (|modified z|) at which a point is abnormal: Iglewicz and Hoaglin's recommended cut-off."""
CONSECUTIVE = 2
"""Abnormal points in a row, same direction, before the window counts as anomalous."""
MAD_SCALE = 1.4826
"""MAD times this estimates the standard deviation of normally distributed data."""

Point = tuple[float, float | None]


@dataclass(frozen=True)
class Score:
    """What the window of one series looks like against its baseline."""

    anomalous: bool
    """At least CONSECUTIVE abnormal points in a row in the window, and the series is not chronic."""
    score: float
    """The largest |robust z| among the abnormal run (or the window when there is none), signed by direction."""
    direction: Literal["up", "down", "none"]
    onset: float | None
    """Unix time of the first point of the first abnormal run."""
    ended: bool
    """The abnormal run(s) finished before the last point of the window: the anomaly is over by the instant."""
    chronic: bool
    """The baseline was itself abnormal: a standing condition, not a new change."""
    baseline_median: float | None
    spread: float | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["onset"] = iso(self.onset) if self.onset is not None else None
        return out


def _values(points: Sequence[Point]) -> list[float]:
    return [v for _, v in points if v is not None]


def _centre(values: Sequence[float], floor: float) -> tuple[float, float]:
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) * MAD_SCALE
    # A perfectly flat baseline has MAD 0; a relative floor keeps a tiny wiggle from scoring as infinite.
    return median, max(mad, floor, abs(median) * 0.01, 1e-9)


def _runs(points: Sequence[Point], median: float, spread: float) -> list[list[tuple[float, float]]]:
    """Runs of consecutive abnormal points, same sign, as [(ts, z), ...]."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for ts, value in points:
        z = 0.0 if value is None else (value - median) / spread
        if abs(z) >= THRESHOLD and (not current or (z > 0) == (current[-1][1] > 0)):
            current.append((ts, z))
            continue
        if len(current) >= CONSECUTIVE:
            runs.append(current)
        current = [(ts, z)] if abs(z) >= THRESHOLD else []
    if len(current) >= CONSECUTIVE:
        runs.append(current)
    return runs


def score(window: Sequence[Point], baseline: Sequence[Point], *, day_before: Sequence[Point] = (),
          floor: float = 0.0, chronic_if_median_at_least: float | None = None) -> Score:
    """Score `window` (points after onset, up to the instant) against `baseline` (and `day_before` when held).

    `floor` bounds the spread from below (the caller's noise level, e.g. a binomial standard deviation);
    `chronic_if_median_at_least` marks the series chronic when the baseline median reaches it (0.5 for an error
    ratio that fails half the time in normal operation).
    """
    base = _values(baseline) + _values(day_before)
    if len(base) < 3 or not _values(window):
        return Score(False, 0.0, "none", None, False, False, None, None,
                     f"too few points to judge ({len(base)} in the baseline, {len(_values(window))} in the window)")
    median, spread = _centre(base, floor)
    chronic, why_chronic = False, ""
    if chronic_if_median_at_least is not None and median >= chronic_if_median_at_least:
        chronic, why_chronic = True, f"baseline median {median:.4g} >= {chronic_if_median_at_least:g}"
    elif len(_values(day_before)) >= 3:
        day_median, day_spread = _centre(_values(day_before), floor)
        if _runs(baseline, day_median, day_spread):
            chronic, why_chronic = True, "the baseline was already abnormal against the day before"
    runs = _runs(window, median, spread)
    if not runs:
        zs = [(v - median) / spread for v in _values(window)]
        peak = max(zs, key=abs)
        return Score(False, round(peak, 2), "none", None, False, chronic, median, spread,
                     f"no {CONSECUTIVE} consecutive points beyond {THRESHOLD} robust units (peak {peak:.1f})"
                     + (f"; chronic: {why_chronic}" if chronic else ""))
    peak_run = max(runs, key=lambda run: max(abs(z) for _, z in run))
    peak = max((z for _, z in peak_run), key=abs)
    direction: Literal["up", "down"] = "up" if peak > 0 else "down"
    last_ts = max(ts for ts, _ in window)
    ended = runs[-1][-1][0] < last_ts
    onset = runs[0][0][0]
    state = "ended" if ended else "ongoing"
    reason = (f"{len(peak_run)} consecutive points {direction} to {peak:+.1f} robust units from baseline median "
              f"{median:.4g} (spread {spread:.3g}) from {iso(onset)}; {state}")
    if chronic:
        reason += f"; chronic: {why_chronic}, not a new anomaly"
    return Score(not chronic, round(peak, 2), direction, onset, ended, chronic, median, spread, reason)


def series(prom: Any, promql: str, onset: datetime, at: datetime, *, baseline: timedelta = timedelta(hours=1),
           step_s: float = 60.0, timeout_s: float = 10.0, floor: float = 0.0,
           chronic_if_median_at_least: float | None = None) -> Evidence:
    """Score every series of `promql` from `onset` to `at` against the `baseline` before onset and a day earlier.

    `ok` with `{"series": [{"labels", "anomalous", "score", "direction", "onset", "ended", "chronic",
    "baseline_median", "spread", "reason"}]}`, most anomalous first; `no_data` when nothing matches; `error` when
    Prometheus fails. Read-only.
    """
    query = f"{promql} from {onset.isoformat()} to {at.isoformat()} against {baseline} before and a day earlier"
    day = timedelta(days=1)
    try:
        now = query_matrix(prom, promql, onset, at, step_s, timeout_s)
        before = query_matrix(prom, promql, onset - baseline, onset - timedelta(seconds=step_s), step_s, timeout_s)
        earlier = query_matrix(prom, promql, onset - baseline - day, at - day, step_s, timeout_s)
    except QueryFailed as exc:
        return result(TOOL, "error", query, error=str(exc))
    if not now:
        return result(TOOL, "no_data", query, summary="no series in the window")

    def key(item: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(item["labels"].items()))

    before_by = {key(s): s["points"] for s in before}
    earlier_by = {key(s): s["points"] for s in earlier}
    scored = []
    for item in now:
        found = score([tuple(p) for p in item["points"]], [tuple(p) for p in before_by.get(key(item), [])],
                      day_before=[tuple(p) for p in earlier_by.get(key(item), [])], floor=floor,
                      chronic_if_median_at_least=chronic_if_median_at_least)
        scored.append({"labels": item["labels"], **found.as_dict()})
    scored.sort(key=lambda s: (not s["anomalous"], -abs(s["score"])))
    flagged = sum(1 for s in scored if s["anomalous"])
    return result(TOOL, "ok", query, data={"series": scored}, summary=f"{flagged} of {len(scored)} series anomalous")
