"""Readings: the numbers in the evidence, flattened so that rules can ask for them by name.

The evidence tools return Prometheus vectors, catalog signals with a baseline, Kubernetes objects, provider
status pages, log signatures (see tools/EVIDENCE.md). A `Reading` is one labelled number from any of them:
the signal or metric name, its labels, its value now and (when the tool compared windows) its baseline. The
walker accepts any nesting of mappings and lists, so rules stay independent of how a tool lays out its data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agent.models import Evidence
from agent.reasoning.findings import Situation, as_float

NAME_KEYS = ("signal", "name", "metric_name", "__name__")
VALUE_KEYS = ("value", "current", "after", "now")
BASELINE_KEYS = ("baseline", "before", "previous")
OWN_TOOLS = ("runbook_signal",)
"""Evidence whose numbers only their own rule reads (runbook checks are named by the runbook, not the catalog)."""


@dataclass(frozen=True)
class Reading:
    name: str
    labels: dict[str, str]
    value: float
    baseline: float | None
    evidence: str
    """The id of the Evidence it came from."""

    @property
    def rise(self) -> float:
        """value / baseline (inf when the baseline is 0 and the value is not; 1 without a baseline)."""
        if self.baseline is None:
            return 1.0
        if self.baseline <= 0:
            return float("inf") if self.value > 0 else 1.0
        return self.value / self.baseline


def _number(value: Any) -> float | None:
    if isinstance(value, list | tuple) and len(value) == 2:  # Prometheus [timestamp, "value"]
        value = value[1]
    if isinstance(value, bool) or value is None:
        return None
    number = as_float(value, float("nan"))
    return None if number != number else number


def _walk(node: Any, name: str, evidence: Evidence) -> Iterator[Reading]:
    if isinstance(node, Mapping):
        here = next((str(node[k]) for k in NAME_KEYS if isinstance(node.get(k), str) and node.get(k)), name)
        labels = node.get("metric") if isinstance(node.get("metric"), Mapping) else node.get("labels")
        value = next((_number(node[k]) for k in VALUE_KEYS if k in node), None)
        if isinstance(labels, Mapping) and value is not None:
            flat = {str(k): str(v) for k, v in labels.items()}
            reading_name = flat.pop("__name__", "") or here
            baseline = next((_number(node[k]) for k in BASELINE_KEYS if k in node), None)
            yield Reading(reading_name, flat, value, baseline, evidence.id)
            return
        for child in node.values():
            if isinstance(child, Mapping | list):
                yield from _walk(child, here, evidence)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child, name, evidence)


def readings_of(evidence: Evidence) -> list[Reading]:
    if evidence.status != "ok" or evidence.data is None:
        return []
    default = evidence.query.split("{", 1)[0].split("(")[-1].strip() if evidence.query else evidence.tool
    return list(_walk(evidence.data, default, evidence))


def readings(situation: Situation, *names: str) -> list[Reading]:
    """Every reading named one of `names` (a metric or signal name), from every tool that returned data."""
    wanted = set(names)
    out: list[Reading] = []
    for item in situation.ok():
        if item.tool in OWN_TOOLS:
            continue
        out.extend(r for r in readings_of(item) if r.name in wanted)
    return out
