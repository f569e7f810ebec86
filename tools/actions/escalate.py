"""`notify.escalate`: page a human. It changes nothing, so it has no plan, no check and no revert."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from tools.actions.base import Action, Check, Params, Preview


class EscalateParams(Params):
    reason: str = Field(min_length=1)


class Escalate(Action):
    name = "notify.escalate"
    params_model = EscalateParams
    revertible = False
    changes_anything = False

    def target(self, params: Any) -> str:
        return "incident"

    def snapshot(self, params: Any) -> dict[str, Any]:
        return {}

    def preview(self, params: Any) -> Preview:
        return Preview(summary=f"page a human: {params.reason}")

    def plan(self, params: Any, now: datetime) -> dict[str, Any]:
        return {"reason": params.reason}

    def apply(self, plan: Mapping[str, Any]) -> None:
        """The execute node pages through the notifier; nothing else happens."""

    def applied(self, plan: Mapping[str, Any]) -> bool:
        return True

    def check(self, plan: Mapping[str, Any]) -> Check:
        return Check("ok", "nothing changed")
