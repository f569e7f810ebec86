"""The policy, asked again just before `execute`, with inputs read afresh.

An approval can wait half an hour. Meanwhile the kill switch may be thrown, a freeze window may open, the
target namespace may be labelled protected, other actions may use up a limit, or the alert may resolve. The
decision taken at `decide` is therefore not trusted at execution: the same engine is asked again with fresh
inputs, and the change runs only when the fresh answer still allows what was approved. What moved is named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.approvals import eligible, identity
from agent.context import Context
from agent.executor import catalog_for
from agent.models import Decision
from agent.nodes.decide import policy_decision
from agent.state import State
from tools.actions import ActionError


@dataclass(frozen=True)
class Recheck:
    refusal: str
    """'' when the change may still run; otherwise why not."""
    changed: list[str] = field(default_factory=list)
    """What moved since the decision, in words."""
    decision: Decision | None = None
    """The fresh decision (None when it could not be taken)."""

    def as_dict(self) -> dict[str, Any]:
        fresh = self.decision.model_dump(mode="json") if self.decision else None
        return {"event": "rechecked", "refused": bool(self.refusal), "reason": self.refusal,
                "changed": self.changed, "fresh": fresh}


def recheck(ctx: Context, state: State) -> Recheck:
    proposal, decided = state.proposal, state.decision
    assert proposal is not None and decided is not None
    try:
        action = catalog_for(ctx).get(proposal.action)
        params = action.params(proposal.params)
        snapshot = action.snapshot(params) if action.changes_anything else {}
    except ActionError as exc:
        return Recheck(f"the target cannot be read to check the policy again: {exc}")
    paused = ctx.store.get_control("paused") is not None
    fresh = policy_decision(ctx, state, proposal, params, snapshot, paused=paused,
                            changes_anything=action.changes_anything)
    changed = what_changed(decided.inputs, fresh.inputs)
    incident = ctx.store.get_incident(ctx.incident_id)
    if incident.alerts and not incident.firing:
        changed.append("the alert resolved")
        if ctx.settings.resolved_alert_cancels:
            return Recheck("the alert resolved while the change waited (resolved_alert_cancels)", changed, fresh)
    if fresh.effect == "deny":
        return Recheck(f"the policy now denies it: {fresh.reason}", changed, fresh)
    if fresh.effect == "require_approval":
        if decided.effect == "allow":
            return Recheck(f"the policy now asks for approval: {fresh.reason}", changed, fresh)
        short = _approvals_short(state, fresh, ctx)
        if short:
            return Recheck(f"the policy now needs other approvals: {short}", changed, fresh)
    return Recheck("", changed, fresh)


def what_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The inputs that moved between two decisions, in words (nothing when the first recorded none)."""
    if not before:
        return []
    out: list[str] = []
    if after.get("paused") and not before.get("paused"):
        out.append("execution was paused (kill switch)")
    opened = [w for w in after.get("freeze_open", []) if w not in before.get("freeze_open", [])]
    out += [f"a freeze window opened: {w}" for w in opened]
    was, now = before.get("namespace_labels") or {}, after.get("namespace_labels") or {}
    for key in sorted(set(was) | set(now)):
        if was.get(key) != now.get(key):
            out.append(f"namespace label {key}: {was.get(key)!r} → {now.get(key)!r}")
    for key, words in (("environment", "environment"), ("recent_actions", "actions on the target in the last hour"),
                       ("current_replicas", "replicas")):
        if before.get(key) != after.get(key):
            out.append(f"{words}: {before.get(key)!r} → {after.get(key)!r}")
    return out


def _approvals_short(state: State, fresh: Decision, ctx: Context) -> str:
    groups = ctx.clients.approver_groups or {}
    people = {identity(a.actor) for a in state.approvals if a.approved
              and (not fresh.approvers or eligible(identity(a.actor), fresh.approvers, groups))}
    need = max(1, fresh.min_approvals)
    if len(people) >= need:
        return ""
    named = f" from {', '.join(fresh.approvers)}" if fresh.approvers else ""
    return f"rule {fresh.rule} needs {need} approval(s){named}; {len(people)} of those given count"
