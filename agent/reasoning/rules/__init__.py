"""The offline reasoner's rules: a small set of named observations with weights.

Each rule is a function `Situation -> Iterable[Finding]`, registered with `@rule`. Rules read evidence by the
catalog's signal and metric names (DESIGN.md section 4) and the change timeline — never by scenario, service or
alert names. Weights are in score units (see `agent.reasoning.scoring`): about 1 for a hint, 2 for clear
evidence, 3 for evidence that on its own settles a domain. `opsmedic` documents them in the README.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from agent.reasoning.findings import Finding, Situation

Rule = Callable[[Situation], Iterable[Finding]]

MODULES = ("changes", "graph", "infra", "kube", "llm", "provider", "quiet", "runbook", "signatures")
"""The rule modules, imported by `load`."""

RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register a rule under `name` (its findings carry the name too)."""

    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def load() -> dict[str, Rule]:
    """Every rule, once the rule modules are imported."""
    for module in MODULES:
        importlib.import_module(f"agent.reasoning.rules.{module}")

    return dict(RULES)
