"""Placing a scenario at an absolute instant: what the harness loads into the backends and posts to the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.replay import objects
from agent.replay.notation import _Stale, expand
from agent.replay.scenario import Scenario
from agent.replay.times import absolute


@dataclass(frozen=True)
class PlacedSeries:
    name: str
    metric: str
    labels: dict[str, str]
    samples: list[tuple[datetime, float | _Stale]]
    """(time, entry) for each step that holds an entry; missing samples (`_`) are left out."""


@dataclass(frozen=True)
class Placed:
    """A scenario at an absolute instant: what the harness loads into the backends and posts to the bot."""

    scenario: Scenario
    instant: datetime
    alert: dict[str, Any]
    series: list[PlacedSeries]
    kubernetes: list[dict[str, Any]]
    filled: list[objects.Filled]
    logs: list[dict[str, Any]]
    provider_status: dict[str, dict[str, Any]]
    changes: list[dict[str, Any]]


def place(scenario: Scenario, instant: datetime, *, source: str = "") -> Placed:
    """Convert every relative time of `scenario` at `instant`; fill and validate the Kubernetes objects."""
    series: list[PlacedSeries] = []
    if scenario.metrics is not None:
        start, step = instant + scenario.metrics.start_offset, scenario.metrics.step_delta
        for s in scenario.metrics.series:
            samples = [(start + i * step, v) for i, v in enumerate(expand(s.values)) if v is not None]
            series.append(PlacedSeries(s.name, s.metric, s.labels, samples))
    raw_objects = absolute(scenario.kubernetes, instant)
    completed, filled = objects.complete(scenario.id, raw_objects)
    for i, obj in enumerate(completed):
        objects.validate(obj, f"{source or scenario.id}: kubernetes[{i}]")
    dump = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Placed(
        scenario=scenario,
        instant=instant,
        alert=absolute(dump["alert"], instant),
        series=series,
        kubernetes=completed,
        filled=filled,
        logs=absolute(dump["logs"], instant),
        provider_status=absolute(dump["provider_status"], instant),
        changes=absolute(dump["changes"], instant),
    )
