"""The action catalog (DESIGN.md section 6). Actions change the world, so they live apart from the read-only
tools and are never offered to an LLM: only the executor runs them, after the policy and approvals.

    catalog = build_catalog(kubernetes_api_client)          # routing defaults to ConfigMapRouting
    action = catalog.get("k8s.scale")
    params = action.params({"namespace": "prod", "kind": "Deployment", "name": "chat", "replicas": 5})
    action.preview(params) / action.plan(params, now) / action.apply(plan) / action.check(plan) / action.revert(plan)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.actions.base import Action, ActionError, Check, Params, Preview
from tools.actions.escalate import Escalate
from tools.actions.kube import Kube
from tools.actions.nodes import Cordon, DeletePod
from tools.actions.routing import ConfigMapRouting, RoutingAdapter, configmap_name
from tools.actions.service import ModelRollback, PromptRollback, ProviderFailover, TrafficShed
from tools.actions.workloads import Rollback, RolloutRestart, Scale

KUBE_ACTIONS: dict[str, Callable[[Kube], Action]] = {
    "k8s.rollout_restart": RolloutRestart, "k8s.scale": Scale, "k8s.rollback": Rollback,
    "k8s.cordon": Cordon, "k8s.delete_pod": DeletePod,
}
SERVICE_ACTIONS: dict[str, Callable[[RoutingAdapter], Action]] = {
    "provider.failover": ProviderFailover, "model.rollback": ModelRollback,
    "prompt.rollback": PromptRollback, "traffic.shed": TrafficShed,
}
ACTION_NAMES = (*KUBE_ACTIONS, *SERVICE_ACTIONS, "notify.escalate")


@dataclass
class Catalog:
    """Builds actions on demand, so a missing backend fails only the actions that need it."""

    kubernetes: Any = None
    routing: RoutingAdapter | None = None
    _built: dict[str, Action] = field(default_factory=dict)

    def get(self, name: str) -> Action:
        if name in self._built:
            return self._built[name]
        if name == "notify.escalate":
            action: Action = Escalate()
        elif name in KUBE_ACTIONS:
            action = KUBE_ACTIONS[name](Kube(self.kubernetes))
        elif name in SERVICE_ACTIONS:
            action = SERVICE_ACTIONS[name](self.routing or ConfigMapRouting(Kube(self.kubernetes)))
        else:
            raise ActionError(f"{name!r} is not a catalog action (known: {', '.join(ACTION_NAMES)})")
        self._built[name] = action
        return action


def build_catalog(kubernetes: Any = None, routing: RoutingAdapter | None = None) -> Catalog:
    return Catalog(kubernetes=kubernetes, routing=routing)


__all__ = [
    "ACTION_NAMES", "Action", "ActionError", "Catalog", "Check", "ConfigMapRouting", "Params", "Preview",
    "RoutingAdapter", "build_catalog", "configmap_name",
]
