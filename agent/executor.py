"""Safe execution: each approved action runs at most once, one action per target at a time, every outcome audited.

    key = sha256(incident, action, target, parameters)        the idempotency key (unique in the store)
    plan  = action.plan(params, now)                           desired state and the state before
    store.begin_intent(key, plan)  ── busy? ──> skipped        intent stored BEFORE any call
    action.apply(plan)                                         the one call to Kubernetes or the adapter
    store.set_intent_state(key, "applied")                     the target stays held until `settle`

After a crash the same key finds the stored intent and reconciles it against the actual state: `applied(plan)`
true means the call landed, so it is not made again; false means it never reached the backend, so it is made
now. The verify node `settle`s the intent (done, reverted or failed), which frees the target.

A revert is journalled the same way: the intent moves to `reverting` before the call, so a crash after the
revert landed finds it there, sees the change no longer applied, and does not call again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from agent.audit import AuditLog
from agent.context import Context
from agent.models import ActionResult, Proposal
from agent.store import Intent, IntentState, Store
from tools.actions import Action, ActionError, Catalog, build_catalog

log = logging.getLogger(__name__)

Hook = Callable[[str], None]
"""Called with `intent_stored`, `called`, `revert_stored` and `revert_called` as execution and revert pass those
points (crash tests use it)."""


def idempotency_key(incident_id: str, action: str, target: str, params: Mapping[str, Any]) -> str:
    body = json.dumps([incident_id, action, target, dict(params)], sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


class Executor:
    def __init__(self, store: Store, audit: AuditLog, catalog: Catalog, clock: Callable[[], datetime],
                 on_step: Hook | None = None) -> None:
        self.store = store
        self.audit = audit
        self.catalog = catalog
        self.clock = clock
        self._step = on_step or (lambda step: None)

    def execute(self, incident_id: str, proposal: Proposal, actor: str) -> ActionResult:
        """Run `proposal` once for `incident_id`; `actor` is who allowed it (approvers, or `policy:<rule>`)."""
        try:
            action = self.catalog.get(proposal.action)
            params = action.params(proposal.params)
            target = action.target(params)
        except ActionError as exc:
            return self._finish_early(incident_id, proposal, actor, "failed", str(exc))
        key = idempotency_key(incident_id, proposal.action, target, params.model_dump(mode="json"))
        existing = self.store.get_intent(key)
        if existing is not None:
            return self._reconcile(existing, action, actor)
        try:
            plan = action.plan(params, self.clock())
        except ActionError as exc:
            return self._finish_early(incident_id, proposal, actor, "failed", str(exc), target=target, key=key)
        claim = self.store.begin_intent(key=key, incident_id=incident_id, action=proposal.action, target=target,
                                        params=params.model_dump(mode="json"), plan=plan, actor=actor,
                                        now=self.clock())
        if claim.outcome == "exists":
            return self._reconcile(claim.intent, action, actor)
        if claim.outcome == "busy":
            other = claim.intent
            return self._finish_early(
                incident_id, proposal, actor, "skipped",
                f"{target} is busy: {other.action} for incident {other.incident_id} is in flight ({other.state}); "
                "one action per target at a time", target=target, key=key,
            )
        intent = claim.intent
        self._audit(intent, actor, "intent_stored", f"about to run {intent.action} on {target}", plan=plan)
        self._step("intent_stored")
        return self._apply(intent, action, actor)

    def _apply(self, intent: Intent, action: Action, actor: str) -> ActionResult:
        try:
            action.apply(intent.plan)
        except Exception as exc:  # the backend refused, or the connection broke: did the change land?
            landed = self._landed(action, intent)
            if landed is not True:
                detail = f"{intent.action} on {intent.target} failed: {exc}"
                if landed is None:
                    detail += " (the outcome is unknown; the intent stays pending and is reconciled on retry)"
                    self._audit(intent, actor, "failed", detail)
                    return self._result(intent, "failed", detail)
                return self._fail(intent, actor, detail)
        self._step("called")
        self.store.set_intent_state(intent.key, "applied", self.clock())
        detail = f"{intent.action} on {intent.target} executed"
        self._audit(intent, actor, "executed", detail)
        return self._result(intent, "succeeded", detail)

    def _landed(self, action: Action, intent: Intent) -> bool | None:
        try:
            return action.applied(intent.plan)
        except Exception:
            return None

    def _reconcile(self, intent: Intent, action: Action, actor: str) -> ActionResult:
        if intent.state == "pending":
            landed = self._landed(action, intent)
            if landed:
                self.store.set_intent_state(intent.key, "applied", self.clock())
                detail = f"{intent.action} on {intent.target} had already landed before a restart; not run again"
                self._audit(intent, actor, "reconciled", detail)
                return self._result(intent, "succeeded", detail)
            if landed is None:
                return self._result(intent, "failed", f"{intent.target} cannot be read to reconcile the intent")
            self._audit(intent, actor, "reconciled",
                        f"{intent.action} on {intent.target} had not reached the backend; running it now")
            return self._apply(intent, action, actor)
        if intent.state == "applied":
            detail = f"{intent.action} on {intent.target} was already executed; not run again"
            self._audit(intent, actor, "reconciled", detail)
            return self._result(intent, "succeeded", detail)
        stored = intent.result.get("status")
        status = stored if stored in ("succeeded", "failed", "reverted", "escalated") else "skipped"
        return self._result(intent, status, f"already settled as {intent.state}: {intent.result.get('detail', '')}")

    # -- after verification -------------------------------------------------------------------------------------

    def settle(self, key: str, state: IntentState, detail: str, actor: str = "system") -> None:
        """Record how the action ended (`done`, `reverted`, `failed`); frees the target for the next action."""
        intent = self.store.get_intent(key)
        if intent is None:
            return
        self.store.set_intent_state(key, state, self.clock(), {"status": state, "detail": detail})
        self._audit(intent, actor, f"settled_{state}", detail)

    def revert(self, key: str, actor: str = "system") -> tuple[bool, str]:
        """Undo an executed action from its stored plan; (reverted?, what happened)."""
        intent = self.store.get_intent(key)
        if intent is None:
            return False, f"no intent {key}"
        action = self.catalog.get(intent.action)
        if not action.revertible:
            detail = f"{intent.action} cannot be reverted"
            self._audit(intent, actor, "revert_impossible", detail)
            return False, detail
        if intent.state == "reverted":
            return True, f"{intent.action} on {intent.target} was already reverted; not run again"
        if intent.state == "reverting":
            landed = self._landed(action, intent)
            if landed is False:
                detail = f"the revert of {intent.action} on {intent.target} had already landed before a restart; " \
                         "not run again"
                self._audit(intent, actor, "revert_reconciled", detail)
                return True, detail
            if landed is None:
                return False, f"{intent.target} cannot be read to reconcile the revert; not run blindly"
            self._audit(intent, actor, "revert_reconciled",
                        f"the revert of {intent.action} on {intent.target} had not landed; running it now")
        else:
            self.store.set_intent_state(key, "reverting", self.clock())
            self._audit(intent, actor, "revert_stored", f"about to revert {intent.action} on {intent.target}")
            self._step("revert_stored")
        try:
            detail = action.revert(intent.plan)
        except Exception as exc:
            detail = f"revert of {intent.action} on {intent.target} failed: {exc}"
            self._audit(intent, actor, "revert_failed", detail)
            return False, detail
        self._step("revert_called")
        self._audit(intent, actor, "reverted", detail)
        return True, detail

    def plan_of(self, key: str) -> dict[str, Any]:
        intent = self.store.get_intent(key)
        return dict(intent.plan) if intent else {}

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _fail(self, intent: Intent, actor: str, detail: str) -> ActionResult:
        self.store.set_intent_state(intent.key, "failed", self.clock(), {"status": "failed", "detail": detail})
        self._audit(intent, actor, "failed", detail)
        return self._result(intent, "failed", detail)

    def _finish_early(self, incident_id: str, proposal: Proposal, actor: str, status: str, detail: str, *,
                      target: str = "", key: str = "") -> ActionResult:
        result = ActionResult(action=proposal.action, target=target or proposal.target, status=status,  # type: ignore[arg-type]
                              detail=detail, idempotency_key=key)
        self.audit.append(incident_id, "action", actor, {"event": status, **result.model_dump(mode="json")})
        return result

    def _result(self, intent: Intent, status: str, detail: str) -> ActionResult:
        return ActionResult(action=intent.action, target=intent.target, status=status, detail=detail,  # type: ignore[arg-type]
                            idempotency_key=intent.key, data={"plan": intent.plan})

    def _audit(self, intent: Intent, actor: str, event: str, detail: str, **extra: Any) -> None:
        self.audit.append(intent.incident_id, "action", actor, {
            "event": event, "action": intent.action, "target": intent.target, "idempotency_key": intent.key,
            "params": intent.params, "detail": detail, **extra,
        })


# -- built from a graph context --------------------------------------------------------------------------------

def catalog_for(ctx: Context) -> Catalog:
    """The action catalog for a run: `clients.catalog` when given, else one over the Kubernetes client
    (with `clients.routing` as the routing adapter when given)."""
    given = ctx.clients.catalog
    if isinstance(given, Catalog):
        return given
    return build_catalog(ctx.clients.kubernetes, ctx.clients.routing)


def executor_for(ctx: Context) -> Executor:
    return Executor(ctx.store, ctx.audit, catalog_for(ctx), ctx.clock, ctx.clients.executor_hook)
