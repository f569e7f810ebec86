"""Service-level actions through the routing adapter: `provider.failover`, `model.rollback`,
`prompt.rollback` and `traffic.shed`. The preview is the adapter's before/after values."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from tools.actions.base import Action, ActionError, Check, Params, Preview
from tools.actions.routing import RoutingAdapter


class ServiceParams(Params):
    namespace: str = Field(min_length=1)
    service: str = Field(min_length=1)


class FailoverParams(ServiceParams):
    to_provider: str | None = None


class ModelRollbackParams(ServiceParams):
    to_version: str | None = None


class PromptRollbackParams(ServiceParams):
    prompt: str = Field(min_length=1, pattern=r"^[-._a-zA-Z0-9]+$")
    to_version: str = Field(min_length=1)


class ShedParams(ServiceParams):
    rate_limit_rps: float | None = Field(None, gt=0)
    pause: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> ShedParams:
        if (self.rate_limit_rps is None) == (self.pause is None):
            raise ValueError("give exactly one of rate_limit_rps (a number) or pause (true)")
        if self.pause is False:
            raise ValueError("pause: false changes nothing; use pause: true or rate_limit_rps")
        return self


class _ServiceAction(Action):
    def __init__(self, routing: RoutingAdapter) -> None:
        self.routing = routing

    @abstractmethod
    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        """The routing keys to set, given their current values; raises ActionError when nothing would change."""

    def target(self, params: Any) -> str:
        return f"service:{params.namespace}/{params.service}"

    def snapshot(self, params: Any) -> dict[str, Any]:
        current = self.routing.read(params.namespace, params.service)
        return {"values": {k: current.get(k) for k in sorted(self.changes(params, current))}}

    def preview(self, params: Any) -> Preview:
        current = self.routing.read(params.namespace, params.service)
        after = self.changes(params, current)
        diff = [{"path": k, "before": current.get(k), "after": v} for k, v in sorted(after.items())]
        summary = "; ".join(f"{d['path']}: {d['before']!r} → {d['after']!r}" for d in diff)
        return Preview(summary=f"service {params.namespace}/{params.service}: {summary}", diff=diff,
                       snapshot={"values": {k: current.get(k) for k in sorted(after)}})

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        current = self.routing.read(params.namespace, params.service)
        after = self.changes(params, current)
        return {"namespace": params.namespace, "service": params.service, "after": after,
                "before": {k: current.get(k) for k in after}}

    def apply(self, plan: Mapping[str, Any]) -> None:
        self.routing.write(plan["namespace"], plan["service"], plan["after"])

    def applied(self, plan: Mapping[str, Any]) -> bool:
        current = self.routing.read(plan["namespace"], plan["service"])
        return all(current.get(k) == v for k, v in plan["after"].items())

    def check(self, plan: Mapping[str, Any]) -> Check:
        if self.applied(plan):
            return Check("ok", f"routing of {plan['namespace']}/{plan['service']} reads back as set: {plan['after']}")
        return Check("failed", f"routing of {plan['namespace']}/{plan['service']} no longer holds {plan['after']}")

    def revert(self, plan: Mapping[str, Any]) -> str:
        self.routing.write(plan["namespace"], plan["service"], plan["before"])
        return f"routing values restored: {plan['before']}"


class ProviderFailover(_ServiceAction):
    """Route the service's model traffic to its fallback provider (or `to_provider`)."""

    name = "provider.failover"
    params_model = FailoverParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        to = params.to_provider or current.get("fallback_provider")
        if not to:
            raise ActionError(f"service {params.service} has no fallback_provider configured; give to_provider")
        if to == current.get("provider"):
            raise ActionError(f"service {params.service} already routes to {to}")
        return {"provider": to}


class ModelRollback(_ServiceAction):
    """Pin the previous model version (or `to_version`)."""

    name = "model.rollback"
    params_model = ModelRollbackParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        to = params.to_version or current.get("previous_model_version")
        if not to:
            raise ActionError(f"service {params.service} has no previous_model_version; give to_version")
        if to == current.get("model_version"):
            raise ActionError(f"service {params.service} already pins model version {to}")
        return {"model_version": to, "previous_model_version": current.get("model_version")}


class PromptRollback(_ServiceAction):
    """Pin an earlier version of one prompt."""

    name = "prompt.rollback"
    params_model = PromptRollbackParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        key = f"prompt.{params.prompt}"
        if current.get(key) == params.to_version:
            raise ActionError(f"prompt {params.prompt} of {params.service} is already pinned to {params.to_version}")
        return {key: params.to_version}


class TrafficShed(_ServiceAction):
    """Rate-limit or pause a service's workflow (spend runaway, overload)."""

    name = "traffic.shed"
    params_model = ShedParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        if params.pause:
            return {"paused": "true"}
        return {"rate_limit_rps": f"{params.rate_limit_rps:g}"}
