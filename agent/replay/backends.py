"""The replay environment: every backend a suite of placed scenarios needs, started once and shared.

    ONE Prometheus   all scenarios' samples, each scenario in its own time slot (`slots`)
    ONE Kubernetes   kmock's emulator; it holds one scenario's objects at a time (`show(placed)` swaps them)
                     and every scenario's pod logs (pod names are unique across the suite; clashes are refused)
    ONE moto server  CloudWatch Logs events of every scenario (their times keep them apart)
    ONE Statuspage   one page per provider; `show(placed)` sets the current scenario's pages

Scenarios run one after another, so swapping the Kubernetes objects and status pages per scenario is safe.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from agent.errors import ConfigError
from agent.replay.kube import KubeEmulator, LogLines, _resource_for
from agent.replay.moto import MAX_AGE, MotoServer
from agent.replay.notation import STALE
from agent.replay.placement import Placed
from agent.replay.prometheus import PrometheusServer, binary, write_openmetrics
from agent.replay.scenario import Scenario
from agent.replay.statuspage import StatuspageServer
from agent.settings import DEFAULT_PROVIDER_STATUS_URLS

log = logging.getLogger(__name__)

DEFAULT_GUARD = timedelta(hours=1)
"""Extra room between two scenarios' time slots, beyond the earlier one's own span: the evidence tools look
back before the first sample (baselines an hour before the onset, label history, Prometheus's 5-minute
staleness window), and must not see the neighbour's samples."""
NEWEST_OFFSET = timedelta(minutes=10)
MAX_SPREAD = MAX_AGE - timedelta(hours=12)
BLOCK = "336h"
STALENESS = timedelta(minutes=5)
"""Prometheus still answers a series' last sample for 5 minutes: a scenario's samples stay visible that long."""


DAY = timedelta(days=1)


def slots(scenarios: Sequence[Scenario], now: datetime, guard: timedelta = DEFAULT_GUARD) -> list[datetime]:
    """One instant per scenario, newest first, `span + guard` apart, all within CloudWatch's 14 days.

    Where the 14 days allow it, no scenario sits a day before another: the anomaly tool compares a window with
    the same time a day earlier, and scenarios share service names, so a neighbour there would pass for the
    service's own yesterday. Suites too large for that are packed back to back as before (their scenarios
    then must not rely on the day before)."""
    span = max((-s.earliest() for s in scenarios), default=timedelta())
    width = span + guard + STALENESS
    newest = now.replace(second=0, microsecond=0) - NEWEST_OFFSET
    if width * len(scenarios) > MAX_SPREAD:
        raise ConfigError(
            f"{len(scenarios)} scenarios of up to {span} each need {width * len(scenarios)} of time slots, more "
            f"than the {MAX_SPREAD} that fit in CloudWatch's 14 days: shorten the scenarios' metrics windows "
            "or run them in parts (--only)")
    apart: list[datetime] = []
    k = 0
    while len(apart) < len(scenarios) and k * width <= MAX_SPREAD:
        at = newest - k * width
        if all(abs(abs(other - at) - DAY) >= width for other in apart):
            apart.append(at)
        k += 1
    if len(apart) == len(scenarios):
        return apart
    return [newest - i * width for i in range(len(scenarios))]


class Backends:
    """Start with `with Backends(placed, workdir) as env:`; then `env.show(placed[i])` before each scenario."""

    def __init__(self, placed: Sequence[Placed], workdir: Path) -> None:
        self.placed = list(placed)
        self.workdir = workdir
        self.current: Placed | None = None
        self.samples_loaded = 0
        self.prometheus = PrometheusServer([], workdir / "prometheus")  # blocks come from `_load_blocks`
        self.kube = KubeEmulator(logs=self._pod_logs(), now=self._now)
        self.moto = MotoServer()
        self.statuspage = StatuspageServer({})
        self.log_groups: list[str] = sorted({s["group"] for p in self.placed for s in p.logs
                                             if s["source"] == "cloudwatch"})

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _now(self) -> datetime:
        return self.current.instant if self.current else datetime.now().astimezone()

    def _samples(self) -> list[tuple[str, dict[str, str], list[tuple[float, float | None]]]]:
        """One entry per series, its points from every scenario merged in time order (promtool needs that)."""
        merged: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float | None]]] = {}
        for p in self.placed:
            for s in p.series:
                # promtool's OpenMetrics import has no staleness marker: a `stale` entry becomes a gap
                points = [(at.timestamp(), None if v is STALE else float(v))  # type: ignore[arg-type]
                          for at, v in s.samples]
                merged.setdefault((s.metric, tuple(sorted(s.labels.items()))), []).extend(points)
        return [(metric, dict(labels), sorted(points, key=lambda pt: pt[0]))
                for (metric, labels), points in merged.items()]

    def _load_blocks(self) -> int:
        """Write all samples as TSDB blocks where PrometheusServer keeps its data (`<workdir>/data`).

        PrometheusServer runs promtool with its default 2-hour blocks: for a suite spread over ten days that is
        over a hundred blocks and about a minute. With `--max-block-duration` (and time-ordered series) the
        same samples load in about two seconds. Drop this once PrometheusServer takes that option.
        """
        root = self.workdir / "prometheus"
        data, source = root / "data", root / "suite.om"
        data.mkdir(parents=True, exist_ok=True)
        with source.open("w") as out:
            count = write_openmetrics(self._samples(), out)
        done = subprocess.run(
            [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={BLOCK}",
             str(source), str(data)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(f"promtool could not load the suite's samples: {(done.stderr or done.stdout)[-800:]}")
        source.unlink()
        return count

    def _pod_logs(self) -> list[LogLines]:
        owners: dict[tuple[str, str, str], str] = {}
        out = []
        for p in self.placed:
            for stream in p.logs:
                if stream["source"] != "kubernetes":
                    continue
                key = (stream["namespace"], stream["pod"], stream["container"])
                if key in owners and owners[key] != p.scenario.id:
                    raise ConfigError(f"scenarios {owners[key]} and {p.scenario.id} both log to pod "
                                      f"{key[0]}/{key[1]} container {key[2]}: give the pods distinct names")
                owners[key] = p.scenario.id
                lines = [(datetime.fromisoformat(line["at"].replace("Z", "+00:00")), line["text"])
                         for line in stream["lines"]]
                out.append(LogLines(key[0], key[1], key[2], lines))
        for p in self.placed:  # every other container of a scenario's pods has a log too, an empty one
            for obj in p.kubernetes:
                if obj.get("kind") != "Pod":
                    continue
                meta = obj["metadata"]
                for container in (obj.get("spec") or {}).get("containers") or []:
                    key = (meta.get("namespace", ""), meta["name"], container["name"])
                    if key not in owners:
                        owners[key] = p.scenario.id
                        out.append(LogLines(*key, []))
        return out

    def start(self) -> Self:
        try:
            self.samples_loaded = self._load_blocks()
            self.prometheus.start()
            self.kube.start()
            # the built-in resource list (as a real API server has it), so that listing a kind the scenario has
            # no objects of answers an empty list, not 404
            self.kube.call(lambda emulator: emulator.resources.load_bundled())
            self.statuspage.start()
            self.moto.start()
            for p in self.placed:
                for stream in p.logs:
                    if stream["source"] == "cloudwatch":
                        events = [(datetime.fromisoformat(line["at"].replace("Z", "+00:00")), line["text"])
                                  for line in stream["lines"]]
                        self.moto.put_log_events(stream["group"], stream["stream"], events)
        except BaseException:
            self.stop()
            raise
        log.info("replay backends up: prometheus %s (%d samples), kubernetes %s, moto %s, statuspage %s",
                 self.prometheus.url, self.samples_loaded, self.kube.url, self.moto.url,
                 self.statuspage.url)
        return self

    def stop(self) -> None:
        for backend in (self.moto, self.statuspage, self.kube, self.prometheus):
            try:
                backend.stop()
            except Exception as exc:  # stop the others regardless
                log.warning("stopping %s: %s", type(backend).__name__, exc)

    def providers(self) -> list[str]:
        names = set(DEFAULT_PROVIDER_STATUS_URLS)
        for p in self.placed:
            names |= set(p.provider_status)
            names |= {a["labels"]["provider"] for a in p.alert["alerts"] if a["labels"].get("provider")}
        return sorted(names)

    def provider_status_urls(self) -> dict[str, str]:
        return {name: self.statuspage.base_url(name) for name in self.providers()}

    def show(self, placed: Placed) -> None:
        """Make the backends show `placed`: its Kubernetes objects (only them) and its status pages."""
        self.current = placed
        objects = placed.kubernetes

        def swap(emulator: Any) -> None:
            emulator.objects.clear()
            for obj in objects:
                meta = obj.get("metadata") or {}
                emulator.objects[_resource_for(obj), meta.get("namespace"), str(meta["name"])] = obj

        self.kube.call(swap)
        self.statuspage.pages = {name: dict(page) for name, page in placed.provider_status.items()}
