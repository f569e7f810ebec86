"""A chart of the key signal around the alert (PNG, matplotlib), for the incident thread.

The key signal is the alert's own expression (from Alertmanager's `generatorURL`), else the first PromQL the
investigation found data for. It is drawn from `window` before to `window / 4` after the investigation instant,
with the instant marked. A flat or nearly empty signal is not worth a picture: `chart_for` returns None.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from agent.models import Incident  # noqa: E402
from agent.slack.messages import EvidenceLine  # noqa: E402

log = logging.getLogger(__name__)
MAX_SERIES = 8
MIN_POINTS = 3


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[datetime, float]]


def key_signal(incident: Incident, evidence: list[EvidenceLine]) -> str:
    """The PromQL worth a picture: the alert's expression, else the first Prometheus query that found data."""
    for alert in incident.alerts:
        expr = parse_qs(urlparse(alert.generator_url).query).get("g0.expr")
        if expr and expr[0].strip():
            return expr[0].strip()
    for e in evidence:
        if e.tool == "prometheus" and e.status == "ok" and e.query:
            return e.query.split(" @ ", 1)[0].strip()
    return ""


def fetch(prom: Any, query: str, instant: datetime, window: timedelta = timedelta(hours=1)) -> list[Series]:
    """Range-query `query` around `instant` with a `prometheus_api_client.PrometheusConnect`."""
    start, end = instant - window, instant + window / 4
    step = max(15, int(window.total_seconds() / 240))
    raw = prom.custom_query_range(query, start_time=start, end_time=end, step=f"{step}s")
    out = []
    for item in raw[:MAX_SERIES]:
        metric = item.get("metric", {})
        label = ",".join(f"{k}={v}" for k, v in sorted(metric.items()) if k != "__name__") or query
        points = [(datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in item.get("values", [])]
        out.append(Series(label[:60], points))
    return out


def worth_drawing(series: list[Series]) -> bool:
    values = [v for s in series for _, v in s.points if v == v]  # drop NaN
    return len(values) >= MIN_POINTS and max(values) != min(values)


def render(series: list[Series], instant: datetime, title: str) -> bytes:
    """A PNG (about 900×400 px) of the series with the alert instant marked."""
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    try:
        for s in series[:MAX_SERIES]:
            ax.plot([t for t, _ in s.points], [v for _, v in s.points], label=s.label,  # type: ignore[arg-type]
                    linewidth=1.4)
        ax.axvline(instant, color="#d62728", linestyle="--", linewidth=1, label="alert")  # type: ignore[arg-type]
        ax.set_title(title[:90], fontsize=10)
        ax.set_xlabel("UTC", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def chart_for(prom: Any, incident: Incident, evidence: list[EvidenceLine]) -> tuple[str, bytes] | None:
    """(query, PNG) for the incident's key signal, or None when there is nothing worth drawing."""
    query = key_signal(incident, evidence)
    if prom is None or not query:
        return None
    try:
        series = fetch(prom, query, incident.instant)
    except Exception as exc:  # a chart is a nicety: never let it break the thread
        log.warning("no chart for %s: %s", incident.id, exc)
        return None
    if not worth_drawing(series):
        return None
    return query, render(series, incident.instant, query)
