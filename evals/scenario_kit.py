# ruff: noqa: E501
"""Building blocks for evals/generate.py: a scenario builder that turns per-minute stories into series in
promtool notation, Kubernetes objects the official client accepts, logs, changes and an alert.

Not part of the bot: it only writes the YAML files under evals/scenarios/, which are the source of truth.
"""

from __future__ import annotations

import hashlib
import math
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from agent.replay.objects import complete

STEPS = 151  # one per minute from -2h30m to 0s
START = "-2h30m"
BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def _fmt(x: float) -> str:
    text = f"{round(x, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compress(values: Sequence[float | None]) -> str:
    """promtool notation for per-step values (None = missing), using a+bxn runs where they fit."""
    tokens: list[str] = []
    i, n = 0, len(values)
    while i < n:
        v = values[i]
        if v is None:
            j = i
            while j < n and values[j] is None:
                j += 1
            tokens.append(f"_x{j - i}" if j - i > 1 else "_")
            i = j
            continue
        j = i + 1
        step = None
        while j < n and values[j] is not None:
            d = round(float(values[j]) - float(values[j - 1]), 4)  # type: ignore[arg-type]
            if step is None:
                step = d
            elif abs(d - step) > 1e-6:
                break
            j += 1
        count = j - i
        if count == 1:
            tokens.append(_fmt(v))
        elif step == 0:
            tokens.append(f"{_fmt(v)}x{count - 1}")
        else:
            assert step is not None
            sign = "+" if step > 0 else "-"
            tokens.append(f"{_fmt(v)}{sign}{_fmt(abs(step))}x{count - 1}")
        i = j
    return " ".join(tokens)


def lognormal_cdf(x: float, median: float, sigma: float = 0.55) -> float:
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


def rng(seed: str) -> Callable[[int], int]:
    """A deterministic source of small integers for names and jitter."""
    state = {"n": 0}

    def draw(mod: int) -> int:
        state["n"] += 1
        return int(hashlib.sha256(f"{seed}:{state['n']}".encode()).hexdigest(), 16) % mod

    return draw


def suffix(seed: str, length: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def at(i: int) -> str:
    """The relative time of step i (0 = -2h30m, 150 = 0s)."""
    minutes = STEPS - 1 - i
    return "0s" if minutes == 0 else f"-{minutes}m"


def step_of(minutes_before: int) -> int:
    return STEPS - 1 - minutes_before


def phase(fn: Callable[[int], Any], onset: int, before: Any, after: Any) -> Any:
    return after if fn(onset) else before


class Builder:
    """One scenario being written."""

    def __init__(self, sid: str, title: str, description: str, tags: Sequence[str] = ()) -> None:
        self.id = sid
        self.title = title
        self.description = " ".join(description.split())
        self.tags = list(tags)
        self.series: list[dict[str, str]] = []
        self.objects: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {}
        self.alert_status = "firing"
        self.expect: dict[str, Any] = {}
        self.draw = rng(sid)
        self._names: set[str] = set()

    # metrics ---------------------------------------------------------------------------------------------

    def add(self, metric: str, labels: dict[str, str], values: Sequence[float | None]) -> None:
        rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
        name = f"{metric}{{{rendered}}}"
        if name in self._names:
            raise ValueError(f"{self.id}: duplicate series {name}")
        self._names.add(name)
        assert len(values) <= STEPS, (self.id, name, len(values))
        self.series.append({"name": name, "values": compress(values)})

    def counter(self, metric: str, labels: dict[str, str], per_min: Callable[[int], float | None],
                start: float = 0.0) -> None:
        """A counter whose increase in minute i is per_min(i); None = the series does not exist then."""
        values: list[float | None] = []
        total = start
        for i in range(STEPS):
            inc = per_min(i)
            if inc is None:
                values.append(None)
                continue
            total = round(total + round(inc, 4), 6)
            values.append(total)
        self.add(metric, labels, values)

    def gauge(self, metric: str, labels: dict[str, str], value: Callable[[int], float | None]) -> None:
        self.add(metric, labels, [None if (v := value(i)) is None else round(v, 4) for i in range(STEPS)])

    def histogram(self, metric: str, labels: dict[str, str], rpm: Callable[[int], float | None],
                  median: Callable[[int], float], buckets: Sequence[float] = BUCKETS) -> None:
        for le in buckets:
            self.counter(f"{metric}_bucket", {**labels, "le": _fmt(le)},
                         lambda i, le=le: None if rpm(i) is None else rpm(i) * lognormal_cdf(le, median(i)))
        self.counter(f"{metric}_bucket", {**labels, "le": "+Inf"}, rpm)
        self.counter(f"{metric}_sum", labels, lambda i: None if rpm(i) is None else rpm(i) * median(i) * 1.16)
        self.counter(f"{metric}_count", labels, rpm)

    # the rest ----------------------------------------------------------------------------------------------

    def alert(self, name: str, labels: dict[str, str], summary: str, starts: str, expr: str,
              status: str = "firing", ends: str | None = None, **extra_annotations: str) -> None:
        alert: dict[str, Any] = {
            "status": status,
            "labels": {"alertname": name, **labels},
            "annotations": {"summary": summary, **extra_annotations},
            "startsAt": starts,
            "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr="
            + urllib.parse.quote(expr, safe="") + "&g0.tab=1",
        }
        if ends is not None:
            alert["endsAt"] = ends
        self.alerts.append(alert)

    def change(self, when: str, kind: str, service: str, namespace: str, name: str, old: str, new: str,
               actor: str) -> None:
        self.changes.append({"at": when, "kind": kind, "service": service, "namespace": namespace, "name": name,
                             "from": old, "to": new, "actor": actor})

    def pod_log(self, namespace: str, pod: str, container: str, lines: Sequence[tuple[str, str]]) -> None:
        self.logs.append({"source": "kubernetes", "namespace": namespace, "pod": pod, "container": container,
                          "lines": [{"at": t, "text": text} for t, text in lines]})

    def cloudwatch_log(self, group: str, stream: str, lines: Sequence[tuple[str, str]]) -> None:
        self.logs.append({"source": "cloudwatch", "group": group, "stream": stream,
                          "lines": [{"at": t, "text": text} for t, text in lines]})

    def provider(self, name: str, indicator: str, description: str,
                 incidents: Sequence[dict[str, Any]] = (), components: Sequence[dict[str, Any]] = ()) -> None:
        self.status[name] = {"status": {"indicator": indicator, "description": description},
                             "incidents": list(incidents), "components": list(components)}

    def expects(self, domain: str, root_cause: dict[str, str], accept: Sequence[str],
                forbid: Sequence[str]) -> None:
        self.expect = {"domain": domain, "root_cause": root_cause,
                       "remediation": {"accept": list(accept), "forbid": list(forbid)}}

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "title": self.title, "description": self.description}
        if self.tags:
            doc["tags"] = self.tags
        doc["alert"] = {"status": self.alert_status, "alerts": self.alerts}
        doc["metrics"] = {"start": START, "step": "1m", "series": self.series}
        if self.objects:
            completed, _ = complete(self.id, self.objects)  # write uids and image ids, so nothing is left to fill
            doc["kubernetes"] = completed
        if self.logs:
            doc["logs"] = self.logs
        if self.status:
            doc["provider_status"] = self.status
        if self.changes:
            doc["changes"] = self.changes
        doc["expect"] = self.expect
        return doc
