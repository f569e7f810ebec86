"""What every action is: a parameter schema, a target, a preview, a plan, execute, a reconciliation check,
its own health check and a revert.

The plan is computed once, before anything changes, and stored with the intent: it holds the desired state
and the state before, so execution, reconciliation after a crash, verification and revert all work from the
same recorded facts rather than from a second look at a world that may have moved.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.errors import InvalidRequest

CheckStatus = Literal["ok", "pending", "failed"]


class Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Check:
    """The action's own health check: `ok` (done and healthy), `pending` (not yet), `failed` (it will not be)."""

    status: CheckStatus
    detail: str


@dataclass(frozen=True)
class Preview:
    """What the action would do: a diff of the object (server-side dry run) or the adapter's before/after."""

    summary: str
    diff: list[dict[str, Any]] = field(default_factory=list)
    """`{"path": "spec.replicas", "before": 3, "after": 5}` entries."""
    snapshot: dict[str, Any] = field(default_factory=dict)
    """The target's generation, images and replicas (or adapter values) now, for the stale-preview check."""

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "diff": self.diff, "snapshot": self.snapshot}


class ActionError(InvalidRequest):
    """The action cannot run as asked (bad parameters, a missing target, no backend configured)."""


class Action(ABC):
    """One catalog action. Subclasses set `name`, `params_model` and implement the steps."""

    name: ClassVar[str]
    params_model: ClassVar[type[Params]]
    revertible: ClassVar[bool] = True
    changes_anything: ClassVar[bool] = True

    def params(self, raw: Mapping[str, Any]) -> Any:
        try:
            return self.params_model.model_validate(dict(raw))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(params)'}: {e['msg']}"
                                 for e in exc.errors())
            raise ActionError(f"{self.name}: invalid parameters: {problems}") from exc

    @abstractmethod
    def target(self, params: Any) -> str:
        """A stable name of what the action touches (one action per target at a time)."""

    @abstractmethod
    def snapshot(self, params: Any) -> dict[str, Any]:
        """The target's state that an approval relies on (generation, images, replicas, or adapter values)."""

    @abstractmethod
    def preview(self, params: Any) -> Preview: ...

    @abstractmethod
    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        """The desired state and the state before, decided now and stored with the intent (JSON-safe)."""

    @abstractmethod
    def apply(self, plan: Mapping[str, Any]) -> None:
        """Make the change. Called at most once per intent unless `applied` says it did not land."""

    @abstractmethod
    def applied(self, plan: Mapping[str, Any]) -> bool:
        """Whether the cluster or backend already shows the planned change (reconciliation after a crash)."""

    @abstractmethod
    def check(self, plan: Mapping[str, Any]) -> Check: ...

    def revert(self, plan: Mapping[str, Any]) -> str:
        """Restore the state before; returns what was done."""
        raise ActionError(f"{self.name} cannot be reverted")
