"""The action catalog as the reasoners see it: names and parameter names (the shared contract), nothing that
acts. The implementations live in `tools.actions` and are never offered to an LLM."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    changes_something: bool = True

    @property
    def params(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("k8s.rollout_restart", ("namespace", "kind", "name")),
        ActionSpec("k8s.scale", ("namespace", "kind", "name", "replicas")),
        ActionSpec("k8s.rollback", ("namespace", "name"), ("to_revision",)),
        ActionSpec("k8s.cordon", ("node",)),
        ActionSpec("k8s.delete_pod", ("namespace", "pod")),
        ActionSpec("provider.failover", ("namespace", "service"), ("to_provider",)),
        ActionSpec("model.rollback", ("namespace", "service"), ("to_version",)),
        ActionSpec("prompt.rollback", ("namespace", "service", "prompt"), ("to_version",)),
        ActionSpec("traffic.shed", ("namespace", "service"), ("rate_limit_rps", "pause")),
        ActionSpec("notify.escalate", ("reason",), (), changes_something=False),
    )
}
"""Every catalog action (DESIGN.md section 6) with the parameter names of the shared contract."""


def is_catalog_action(name: str) -> bool:
    return name in ACTIONS


def check_params(action: str, params: dict[str, object]) -> list[str]:
    """Problems with `params` for `action`: unknown action, missing or unknown parameters ([] when fine)."""
    spec = ACTIONS.get(action)
    if spec is None:
        return [f"{action!r} is not a catalog action (known: {', '.join(sorted(ACTIONS))})"]
    problems = [f"{action} needs {name}" for name in spec.required if params.get(name) in (None, "")]
    problems += [f"{action} takes no parameter {name!r}" for name in params if name not in spec.params]
    if action == "traffic.shed" and "rate_limit_rps" not in params and "pause" not in params:
        problems.append("traffic.shed needs rate_limit_rps or pause")
    return problems
