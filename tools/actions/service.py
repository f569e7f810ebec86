"""Service-level actions through the routing adapter: `provider.failover`, `model.rollback`,
`prompt.rollback` and `traffic.shed`. The preview is the adapter's before/after values.

A rollback's target comes from the adapter's own history (`previous_model_version`, `previous_prompt.<prompt>`),
never from a change event: events arrive over the network and may be forged. A `to_version` in the
parameters is what the evidence names as the previous version; when the adapter records another one, the
recorded one is used and the preview says that the two disagree.
"""

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
    to_version: str | None = None


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

    def notes(self, params: Any, current: Mapping[str, str]) -> list[str]:
        """What the preview should point out besides the diff (e.g. evidence that disagrees with the adapter)."""
        return []

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
        notes = "".join(f" ({note})" for note in self.notes(params, current))
        return Preview(summary=f"service {params.namespace}/{params.service}: {summary}{notes}", diff=diff,
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


def _recorded(params: Any, current: Mapping[str, str], key: str, what: str) -> str:
    """The previous version the adapter records under `key`; ActionError when it records none."""
    recorded = current.get(key)
    if not recorded:
        claim = f" (the evidence names {params.to_version}, which is not used as a target)" if params.to_version else ""
        raise ActionError(f"service {params.service} records no {key} in its routing values, so there is no known "
                          f"{what} to roll back to{claim}")
    return recorded


def _disagreement(params: Any, recorded: str | None) -> list[str]:
    if params.to_version and recorded and params.to_version != recorded:
        return [f"the evidence names {params.to_version} as the previous version; the routing adapter records "
                f"{recorded}, which is used"]
    return []


class ModelRollback(_ServiceAction):
    """Pin the previous model version the adapter records."""

    name = "model.rollback"
    params_model = ModelRollbackParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        to = _recorded(params, current, "previous_model_version", "model version")
        if to == current.get("model_version"):
            raise ActionError(f"service {params.service} already pins model version {to}")
        return {"model_version": to, "previous_model_version": current.get("model_version")}

    def notes(self, params: Any, current: Mapping[str, str]) -> list[str]:
        return _disagreement(params, current.get("previous_model_version"))


class PromptRollback(_ServiceAction):
    """Pin the previous version of one prompt, as the adapter records it (`previous_prompt.<prompt>`)."""

    name = "prompt.rollback"
    params_model = PromptRollbackParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        key = f"prompt.{params.prompt}"
        to = _recorded(params, current, f"previous_{key}", f"version of prompt {params.prompt}")
        if current.get(key) == to:
            raise ActionError(f"prompt {params.prompt} of {params.service} is already pinned to {to}")
        return {key: to, f"previous_{key}": current.get(key)}

    def notes(self, params: Any, current: Mapping[str, str]) -> list[str]:
        return _disagreement(params, current.get(f"previous_prompt.{params.prompt}"))


class TrafficShed(_ServiceAction):
    """Rate-limit or pause a service's workflow (spend runaway, overload)."""

    name = "traffic.shed"
    params_model = ShedParams

    def changes(self, params: Any, current: Mapping[str, str]) -> dict[str, str | None]:
        if params.pause:
            return {"paused": "true"}
        return {"rate_limit_rps": f"{params.rate_limit_rps:g}"}
