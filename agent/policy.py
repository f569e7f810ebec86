"""The policy engine (DESIGN.md section 7): may this action run, does it need approval, or is it denied?

`load_policies(folder)` reads `*.yaml` in file-name order into one ordered rule list; a malformed file raises
ConfigError naming the file, line and field — the engine never falls back to allowing. `evaluate(policy,
request)` is pure: the same request gives the same decision, and the decision names the rule that made it.

Order of checks: the kill switch (`opsmedic pause`) and global freeze windows deny every change; then the
first rule that matches decides; no match denies. A matching rule that would allow or ask for approval still
denies when one of its freeze windows is open or the request breaks one of its limits.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agent.errors import ConfigError
from agent.models import Decision
from agent.policy_models import FreezeWindow, PolicyFile, Rule

SAFE_ACTIONS = ("notify.escalate", "read.*")
"""Actions that change nothing: the kill switch and freeze windows never stop them."""


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    freeze: tuple[FreezeWindow, ...] = ()
    sources: tuple[str, ...] = ()
    """The files the rules came from, in order."""


@dataclass(frozen=True)
class PolicyRequest:
    """Everything the engine looks at; the caller gathers it (the engine reads no clock, store or cluster)."""

    action: str
    now: datetime
    params: Mapping[str, Any] = field(default_factory=dict)
    target: str = ""
    namespace: str = ""
    environment: str = ""
    service: str = ""
    severity: str = ""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the target's Namespace object, as read from the cluster at decide time."""
    paused: bool = False
    """The kill switch (store control `paused`)."""
    recent_actions: int = 0
    """Actions already executed on the same target in the hour before `now`."""
    current_replicas: int | None = None
    """The target's replica count now (for `k8s.scale` limits); None when unknown."""


def is_safe(action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in SAFE_ACTIONS)


def evaluate(policy: Policy, request: PolicyRequest) -> Decision:
    safe = is_safe(request.action)
    if request.paused and not safe:
        return Decision(effect="deny", rule="kill-switch", reason="execution is paused (`opsmedic resume`)")
    if not safe:
        for window in policy.freeze:
            if window.covers(request.now):
                return Decision(effect="deny", rule="global-freeze",
                                reason=f"a global freeze window is open: {window.reason or 'no reason given'}")
    rule = next((r for r in policy.rules if matches(r, request)), None)
    if rule is None:
        return Decision(effect="deny", rule="no-rule-matched",
                        reason=f"no policy rule matches {request.action} on {request.target or 'its target'}")
    if rule.effect == "deny":
        return Decision(effect="deny", rule=rule.name, reason=f"rule {rule.name} denies this")
    if not safe:
        refusal = _refusal(rule, request)
        if refusal:
            return Decision(effect="deny", rule=rule.name, reason=refusal)
    if rule.effect == "allow":
        return Decision(effect="allow", rule=rule.name, reason=f"rule {rule.name} allows this")
    return Decision(
        effect="require_approval", rule=rule.name,
        reason=f"rule {rule.name} needs {rule.min_approvals} approval(s)",
        approvers=list(rule.approvers), min_approvals=rule.min_approvals, approval_ttl_s=rule.approval_ttl_s,
    )


STRICTNESS = {"deny": 2, "require_approval": 1, "allow": 0}


def strictest(first: Decision, second: Decision) -> Decision:
    """The stricter of two decisions (deny over approval over allow; more approvals over fewer); ties keep
    `first`."""
    def rank(d: Decision) -> tuple[int, int]:
        return STRICTNESS[d.effect], d.min_approvals

    return second if rank(second) > rank(first) else first


def matches(rule: Rule, request: PolicyRequest) -> bool:
    m = rule.match
    pairs = [(m.actions, request.action), (m.namespaces, request.namespace),
             (m.environments, request.environment), (m.services, request.service),
             (m.severities, request.severity)]
    for patterns, value in pairs:
        if patterns and not any(fnmatch.fnmatchcase(value, p) for p in patterns):
            return False
    return all(request.namespace_labels.get(k) == v for k, v in m.namespace_labels.items())


def _refusal(rule: Rule, request: PolicyRequest) -> str:
    """Why a matching allow/approval rule must deny after all (freeze or limits), or ''."""
    for window in rule.freeze:
        if window.covers(request.now):
            return f"rule {rule.name} is frozen now: {window.reason or 'freeze window'}"
    limits = rule.limits
    if limits.max_per_hour is not None and request.recent_actions >= limits.max_per_hour:
        return (f"limit max_per_hour={limits.max_per_hour} reached: {request.recent_actions} action(s) on "
                f"{request.target} in the last hour")
    if request.action == "k8s.scale":
        replicas = request.params.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            return "k8s.scale needs an integer replicas parameter"
        if limits.max_replicas is not None and replicas > limits.max_replicas:
            return f"limit max_replicas={limits.max_replicas}: {replicas} replicas asked"
        if limits.max_replica_change is not None:
            if request.current_replicas is None:
                return "limit max_replica_change cannot be checked: the current replica count is unknown"
            change = abs(replicas - request.current_replicas)
            if change > limits.max_replica_change:
                return (f"limit max_replica_change={limits.max_replica_change}: {request.current_replicas} → "
                        f"{replicas} changes {change}")
    return ""


# -- loading ----------------------------------------------------------------------------------------------------


def load_policies(folder: Path | str) -> Policy:
    """Read every `*.yaml` / `*.yml` under `folder` (file-name order). Raises ConfigError on any problem."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"policies folder {root} does not exist; opsmedic will not act without a policy")
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    if not files:
        raise ConfigError(f"no policy files (*.yaml) in {root}; opsmedic will not act without a policy")
    rules: list[Rule] = []
    freeze: list[FreezeWindow] = []
    names: dict[str, Path] = {}
    for path in files:
        parsed = load_policy_file(path)
        for rule in parsed.rules:
            if rule.name in names:
                raise ConfigError(f"{path}: rule name {rule.name!r} is already used in {names[rule.name]}")
            names[rule.name] = path
        rules.extend(parsed.rules)
        freeze.extend(parsed.freeze)
    return Policy(rules=tuple(rules), freeze=tuple(freeze), sources=tuple(str(p) for p in files))


def load_policy_file(path: Path) -> PolicyFile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc.strerror}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"policy file {path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"policy file {path}, line 1: must be a mapping with a `rules` list")
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
        where = ".".join(str(p) for p in loc) or "(top level)"
        raise ConfigError(f"policy file {path}, line {_line_of(node, loc)}, field {where}: {first['msg']}") from exc


_UNION_TAGS = {"str", "int", "function-after[_ttl(), union[str,int]]"}


def _line_of(node: Any, loc: list[Any]) -> int:
    """The 1-based line of the YAML node at `loc`, or of its deepest existing ancestor."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if child is None and part == "from_":
                child = next((v for k, v in node.value if getattr(k, "value", None) == "from"), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
