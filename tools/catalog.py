"""The signal catalog: named signals and the PromQL behind them (tools/signals.yaml, DESIGN.md section 4).

The built-in catalog uses the standard exporters' metric names and opsmedic's LLM conventions; a user's YAML
(setting `signal_catalog`) renames metrics and labels and replaces or adds signals. `Catalog.promql(name,
scope, window_s)` renders one signal for one service.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError
from agent.models import Evidence
from tools import prometheus
from tools.prometheus import duration
from tools.result import result

BUILTIN = Path(__file__).with_name("signals.yaml")
Group = Literal["infra", "service", "llm", "gateway"]
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class Signal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str
    group: Group = "service"
    description: str = ""


class CatalogFile(BaseModel):
    """The layout of signals.yaml and of a user's override file (every part optional in an override)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    signals: dict[str, Signal] = Field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    """What a signal is about: the service and namespace of the alert, a pod prefix, a deployment."""

    service: str = ""
    namespace: str = ""
    pod_prefix: str = ""
    deployment: str = ""
    providers: tuple[str, ...] = ()
    """The LLM providers the service calls (scopes the gateway's signals; empty = every provider)."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class Catalog:
    def __init__(self, spec: CatalogFile) -> None:
        self.metrics = dict(spec.metrics)
        self.labels = dict(spec.labels)
        self.signals = dict(spec.signals)
        for key, name in {**self.metrics, **self.labels}.items():
            if not _NAME.match(name):
                raise ConfigError(f"signal catalog: {key!r} maps to {name!r}, which is not a valid Prometheus name")

    def names(self, group: Group | None = None) -> list[str]:
        return [n for n, s in self.signals.items() if group is None or s.group == group]

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    def promql(self, name: str, scope: Scope, window_s: float = 300.0) -> str:
        """The PromQL of signal `name` for `scope`; ConfigError for an unknown signal or placeholder."""
        signal = self.signals.get(name)
        if signal is None:
            raise ConfigError(f"signal catalog has no signal {name!r} (known: {', '.join(sorted(self.signals))})")
        values = {**self.metrics, **{f"label_{k}": v for k, v in self.labels.items()}, "window": duration(window_s),
                  "svc_sel": self.selector(service=scope.service, namespace=scope.namespace),
                  "ns_sel": self.selector(namespace=scope.namespace),
                  "deploy_sel": self.selector(namespace=scope.namespace, deployment=scope.deployment or scope.service),
                  "pod_sel": self.selector(namespace=scope.namespace, pod_prefix=scope.pod_prefix),
                  "gateway_sel": self._one_of("api_provider", scope.providers)}
        try:
            text = Template(signal.query).substitute(values)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"signal {name!r}: unknown placeholder {exc} in {signal.query!r}") from exc
        return re.sub(r"\{,|,\}", lambda m: m.group(0).replace(",", ""), text)

    def _one_of(self, label: str, values: Sequence[str]) -> str:
        if not values:
            return ""
        alternatives = "|".join(re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", v) for v in sorted(values))
        return f'{self.label(label)}=~"{_escape(alternatives)}"'

    def selector(self, *, service: str = "", namespace: str = "", deployment: str = "", pod_prefix: str = "") -> str:
        parts = []
        if service:
            parts.append(f'{self.label("service")}="{_escape(service)}"')
        if namespace:
            parts.append(f'{self.label("namespace")}="{_escape(namespace)}"')
        if deployment:
            parts.append(f'{self.label("deployment")}="{_escape(deployment)}"')
        if pod_prefix:
            regex = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", pod_prefix)
            parts.append(f'{self.label("pod")}=~"{_escape(regex)}.*"')
        return ",".join(parts)


def _read(path: Path) -> CatalogFile:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read signal catalog {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"signal catalog {path} is not valid YAML: {exc}") from exc
    try:
        return CatalogFile.model_validate(loaded)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"signal catalog {path}: {problems}") from exc


def load_catalog(override: Path | str | None = None) -> Catalog:
    """The built-in catalog, with the user's override file (setting `signal_catalog`) applied on top."""
    base = _read(BUILTIN)
    if override is None:
        return Catalog(base)
    extra = _read(Path(override))
    return Catalog(CatalogFile(metrics={**base.metrics, **extra.metrics}, labels={**base.labels, **extra.labels},
                               signals={**base.signals, **extra.signals}))


MAX_SERIES = 20
PARALLEL_QUERIES = 6
"""Signals of a set are queried this many at a time (Prometheus answers them concurrently)."""


def signal_set(prom: Any, catalog: Catalog, names: Sequence[str], scope: Scope, at: datetime,
               baseline_at: datetime | None, *, tool: str, window_s: float = 300.0,
               timeout_s: float = 10.0) -> Evidence:
    """Evaluate the catalog signals `names` for `scope` at the instant and at the baseline instant.

    One Evidence for the set (shape in tools/EVIDENCE.md, "Signal sets"): `ok` when any signal has series,
    `no_data` when none has and none failed, `error` when every signal failed. Never raises.
    """
    frame: dict[str, Any] = {
        "scope": {"service": scope.service, "namespace": scope.namespace}, "at": at.isoformat(),
        "baseline_at": baseline_at.isoformat() if baseline_at else None, "window": duration(window_s),
        "signals": [], "empty": [], "errors": {},
    }
    rendered: list[tuple[str, str]] = []
    for name in names:
        try:
            rendered.append((name, catalog.promql(name, scope, window_s)))
        except ConfigError as exc:
            frame["errors"][name] = str(exc)
    queries = [promql for _, promql in rendered]
    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES, thread_name_prefix="signal") as pool:
        answers = list(pool.map(lambda item: prometheus.compare(prom, item[1], at, baseline_at, name=item[0],
                                                                timeout_s=timeout_s, tool=tool), rendered))
    for (name, promql), found in zip(rendered, answers, strict=True):
        if found.status == "error":
            frame["errors"][name] = found.error
        elif found.status == "no_data":
            frame["empty"].append(name)
        else:
            series = sorted(found.data["series"], key=lambda s: -(s["value"] if s["value"] is not None else -1e300))
            frame["signals"].append({"signal": name, "group": catalog.signals[name].group, "query": promql,
                                     "series": series[:MAX_SERIES], "truncated": max(0, len(series) - MAX_SERIES)})
    query = "; ".join(queries) + f" @ {at.isoformat()}" + (f" vs @ {baseline_at.isoformat()}" if baseline_at else "")
    if frame["signals"]:
        seen = ", ".join(s["signal"] for s in frame["signals"])
        return result(tool, "ok", query, data=frame, summary=f"{len(frame['signals'])} signals with data: {seen}")
    if frame["errors"] and not frame["empty"]:
        first = next(iter(frame["errors"].values()))
        return result(tool, "error", query, data=frame, error=f"every signal failed: {first}")
    return result(tool, "no_data", query, data=frame, summary="no signal has data")
