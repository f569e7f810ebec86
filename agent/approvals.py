"""Approval rules: who may approve, how many must, for how long, and whether the preview still holds.

Pure functions; the `approve` node feeds them the approval, the decision and the clock's reading.

- An approval expires `approval_ttl_s` after the decision; a late one is refused and the change dropped.
- The requester (who opened the incident) and the bot itself never count as approvers.
- When the decision names approvers (Slack user ids, or user-group ids with their members passed in), only
  they count; each person counts once (the two-person rule needs two different people).
- Any rejection from a person who could approve stops the change.
- An approval is refused when the target changed since the preview (generation, image or replica count).
- One round is completed only over channels at least as strong as the one its first approval came by: Slack
  (the identity Slack asserts, signed) over HTTP (a personal token) over the CLI (a name typed with `--as`). A
  rejection counts from any channel: stopping a change is always allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from agent.models import Approval, Decision

BOT_ACTORS = frozenset({"system", "opsmedic", "bot"})
Verdict = Literal["counted", "ignored", "rejected", "expired"]


@dataclass(frozen=True)
class ApprovalCheck:
    verdict: Verdict
    reason: str


CHANNEL_STRENGTH = {"slack": 3, "http": 2, "cli": 1}
"""How strongly each channel establishes who approved (see the module docstring)."""


def channel(actor: str) -> str:
    """The channel an approval came by: `http:carol` → http, `cli:alice` → cli, `U012ABC` → slack."""
    prefix, sep, _ = actor.partition(":")
    if not sep:
        return "slack"
    return prefix if prefix in CHANNEL_STRENGTH else "other"


def identity(actor: str) -> str:
    """The person behind an actor string: `cli:alice` → `alice`, `U012ABC` → `U012ABC`."""
    return actor.rsplit(":", 1)[-1].strip()


def expires_at(decided_at: datetime, decision: Decision) -> datetime | None:
    return decided_at + timedelta(seconds=decision.approval_ttl_s) if decision.approval_ttl_s > 0 else None


def check_approval(
    approval: Approval, decision: Decision, *, requester: str, decided_at: datetime, now: datetime,
    counted: Iterable[Approval] = (), bot_ids: Iterable[str] = (), groups: Mapping[str, Iterable[str]] | None = None,
) -> ApprovalCheck:
    """Whether one approval (or rejection) counts towards `decision`, and why not when it does not."""
    counted = list(counted)
    deadline = expires_at(decided_at, decision)
    if deadline is not None and now > deadline:
        return ApprovalCheck("expired", f"the approval window closed at {deadline.isoformat()} "
                                        f"({decision.approval_ttl_s}s after the decision); a new proposal is needed")
    who = identity(approval.actor)
    bots = BOT_ACTORS | {identity(b) for b in bot_ids}
    if not who or who in bots:
        return ApprovalCheck("ignored", f"{approval.actor} is the bot; the bot never approves its own proposals")
    if requester and who == identity(requester):
        return ApprovalCheck("ignored", f"{approval.actor} requested this change and cannot approve it")
    if decision.approvers and not eligible(who, decision.approvers, groups or {}):
        return ApprovalCheck("ignored", f"{approval.actor} is not among the approvers {decision.approvers}")
    if not approval.approved:
        return ApprovalCheck("rejected", f"rejected by {approval.actor}" + (f": {approval.comment}"
                                                                            if approval.comment else ""))
    if who in {identity(a.actor) for a in counted}:
        return ApprovalCheck("ignored", f"{approval.actor} has already approved; another person must")
    first = next(iter(counted), None)
    if first is not None and _strength(approval.actor) < _strength(first.actor):
        return ApprovalCheck("ignored", f"this round began with an approval over {channel(first.actor)}; one over "
                                        f"{channel(approval.actor)} is weaker and cannot complete it")
    return ApprovalCheck("counted", f"approved by {approval.actor}")


def enough(counted: Iterable[Approval], decision: Decision) -> bool:
    return len({identity(a.actor) for a in counted if a.approved}) >= max(1, decision.min_approvals)


def _strength(actor: str) -> int:
    return CHANNEL_STRENGTH.get(channel(actor), 0)


def eligible(who: str, approvers: Iterable[str], groups: Mapping[str, Iterable[str]]) -> bool:
    for entry in approvers:
        if who == entry or who in {identity(m) for m in groups.get(entry, ())}:
            return True
    return False


def target_changed(previewed: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """'' when the target is as previewed; otherwise which of generation, images, replicas (or adapter values) moved."""
    changes = []
    for key in ("generation", "images", "replicas", "values"):
        if key in previewed and previewed.get(key) != current.get(key):
            changes.append(f"{key} {previewed.get(key)!r} → {current.get(key)!r}")
    return "; ".join(changes)
