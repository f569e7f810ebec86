"""The scenario file (DESIGN.md section 3): a strict pydantic model, and loading with clear errors that name the
file and the field.

Relative times: see `agent.replay.times`; placing a scenario at an instant: `agent.replay.placement`.

Extensions to the contract (optional, compatible): `description` (free text for readers) and `tags` (such as
`cascade`, `noise`), which the harness reports but does not score.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import ConfigError
from agent.models import Domain
from agent.replay.notation import expand
from agent.replay.times import parse_duration, relative_time

ACTIONS = (
    "k8s.rollout_restart", "k8s.scale", "k8s.rollback", "k8s.cordon", "k8s.delete_pod", "provider.failover",
    "model.rollback", "prompt.rollback", "traffic.shed", "notify.escalate",
)
"""The action catalog (DESIGN.md section 6)."""

ENTITY_KEYS = ("service", "namespace", "provider", "model", "model_version", "prompt_version", "node", "pod")

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SERIES = re.compile(r'^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def _time(value: str) -> str:
    if relative_time(value) is None:
        raise ValueError(f"{value!r} is not a relative time (a signed duration such as '-5m', or '0s')")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    """Peer-shaped objects (webhook bodies, change events, status pages) may carry more fields."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Series(_Strict):
    name: str
    """`metric{label="value",...}` as Prometheus writes a series."""
    values: str
    """promtool's expanding notation, one entry per step from `metrics.start`."""

    @field_validator("name")
    @classmethod
    def _series_name(cls, name: str) -> str:
        m = _SERIES.match(name.strip())
        if not m:
            raise ValueError(f"{name!r} is not a series name like metric{{label=\"value\"}}")
        if m["labels"] is not None:
            _labels(m["labels"])
        return name.strip()

    @field_validator("values")
    @classmethod
    def _notation(cls, values: str) -> str:
        if not expand(values):
            raise ValueError("no values")
        return values

    @property
    def metric(self) -> str:
        m = _SERIES.match(self.name)
        assert m is not None
        return m["metric"]

    @property
    def labels(self) -> dict[str, str]:
        m = _SERIES.match(self.name)
        assert m is not None
        return _labels(m["labels"]) if m["labels"] else {}


def _labels(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ValueError(f"bad label matcher at {text[pos:pos + 30]!r}")
        out[m[1]] = m[2].encode().decode("unicode_escape")
        pos = m.end()
    return out


class Metrics(_Strict):
    start: str
    step: str
    series: list[Series] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _start(cls, start: str) -> str:
        offset = relative_time(_time(start))
        if offset is None or offset >= timedelta():
            raise ValueError("start must lie before the alert, e.g. '-3h'")
        return start

    @field_validator("step")
    @classmethod
    def _step(cls, step: str) -> str:
        offset = parse_duration(step)
        if offset is None or offset <= timedelta():
            raise ValueError(f"{step!r} is not a positive duration such as '1m' or '30s'")
        return step

    @model_validator(mode="after")
    def _fits(self) -> Metrics:
        steps = self.steps
        for i, s in enumerate(self.series):
            n = len(expand(s.values))
            if n > steps:
                raise ValueError(f"series[{i}] ({s.name}): {n} values, but only {steps} steps fit from "
                                 f"{self.start} to 0s at {self.step}")
        return self

    @property
    def start_offset(self) -> timedelta:
        offset = relative_time(self.start)
        assert offset is not None
        return offset

    @property
    def step_delta(self) -> timedelta:
        step = parse_duration(self.step)
        assert step is not None
        return step

    @property
    def steps(self) -> int:
        return int(-self.start_offset / self.step_delta) + 1


class LogLine(_Strict):
    at: str
    text: str

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        return _time(value)


class LogStream(_Strict):
    source: Literal["kubernetes", "cloudwatch"]
    namespace: str = ""
    pod: str = ""
    container: str = ""
    group: str = ""
    stream: str = ""
    lines: list[LogLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _address(self) -> LogStream:
        need = ("namespace", "pod", "container") if self.source == "kubernetes" else ("group", "stream")
        missing = [f for f in need if not getattr(self, f)]
        if missing:
            raise ValueError(f"a {self.source} log needs {', '.join(need)}; missing: {', '.join(missing)}")
        return self


class AlertItem(_Open):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str | None = None
    generatorURL: str = ""

    @field_validator("startsAt")
    @classmethod
    def _starts(cls, value: str) -> str:
        return _time(value)

    @field_validator("labels")
    @classmethod
    def _alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels.alertname is required")
        return labels

    @field_validator("endsAt")
    @classmethod
    def _ends(cls, value: str | None) -> str | None:
        return None if value is None else _time(value)


class AlertBody(_Open):
    status: Literal["firing", "resolved"]
    alerts: list[AlertItem] = Field(min_length=1)


class Change(_Open):
    at: str
    kind: str = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        return _time(value)


class StatusIndicator(_Open):
    indicator: Literal["none", "minor", "major", "critical", "maintenance"]
    description: str = ""


class ProviderStatus(_Open):
    status: StatusIndicator
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    components: list[dict[str, Any]] = Field(default_factory=list)


class Remediation(_Strict):
    accept: list[str]
    forbid: list[str] = Field(default_factory=list)

    @field_validator("accept", "forbid")
    @classmethod
    def _catalog(cls, actions: list[str]) -> list[str]:
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ValueError(f"not catalog actions: {', '.join(unknown)} (known: {', '.join(ACTIONS)})")
        return actions

    @model_validator(mode="after")
    def _disjoint(self) -> Remediation:
        both = set(self.accept) & set(self.forbid)
        if both:
            raise ValueError(f"actions both accepted and forbidden: {', '.join(sorted(both))}")
        return self


class Expect(_Strict):
    domain: Domain
    root_cause: dict[str, str] = Field(default_factory=dict)
    remediation: Remediation

    @field_validator("root_cause")
    @classmethod
    def _entity_keys(cls, root_cause: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in root_cause if k not in ENTITY_KEYS]
        if unknown:
            raise ValueError(f"unknown root-cause keys {unknown} (known: {', '.join(ENTITY_KEYS)})")
        return root_cause


class Scenario(_Strict):
    id: str
    title: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    alert: AlertBody
    metrics: Metrics | None = None
    kubernetes: list[dict[str, Any]] = Field(default_factory=list)
    logs: list[LogStream] = Field(default_factory=list)
    provider_status: dict[str, ProviderStatus] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list)
    expect: Expect

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _KEBAB.match(value):
            raise ValueError(f"{value!r} is not kebab-case (lower-case words joined by '-')")
        return value

    def earliest(self) -> timedelta:
        """The earliest relative time that a backend is queried around (metrics, logs, changes, alert)."""
        offsets = [relative_time(a.startsAt) or timedelta() for a in self.alert.alerts]
        if self.metrics:
            offsets.append(self.metrics.start_offset)
        offsets += [relative_time(line.at) or timedelta() for s in self.logs for line in s.lines]
        offsets += [relative_time(c.at) or timedelta() for c in self.changes]
        return min(offsets + [timedelta()])


REFERENCE_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a safe loader)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def load_scenario(path: Path, data: Any = None) -> Scenario:
    """Read and check one scenario file; ConfigError naming the file and the field when it breaks the format."""
    data = _read(path) if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a scenario is a mapping with id, title, alert, ..., expect")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from exc
    from agent.replay.placement import place  # placement builds on this module

    place(scenario, REFERENCE_INSTANT, source=str(path))  # surfaces bad Kubernetes objects now, naming the file
    return scenario


def load_scenarios(directory: Path, only: str | None = None) -> list[tuple[Path, Scenario]]:
    """Every `*.yaml` below `directory` (sorted by path); ids must be unique. `only` keeps one id."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a folder of scenarios")
    loaded: list[tuple[Path, Scenario]] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.yaml")):
        data = _read(path)
        sid = data.get("id") if isinstance(data, dict) else None
        if isinstance(sid, str) and sid in seen:
            raise ConfigError(f"{path}: id {sid!r} is already used by {seen[sid]}")
        if only is not None and sid != only:  # with --only, the others need only a unique id
            if isinstance(sid, str):
                seen[sid] = path
            continue
        scenario = load_scenario(path, data)
        seen[scenario.id] = path
        loaded.append((path, scenario))
    if only is not None and not loaded:
        raise ConfigError(f"no scenario with id {only!r} under {directory}")
    if not loaded:
        raise ConfigError(f"{directory}: no *.yaml scenarios found")
    return loaded
