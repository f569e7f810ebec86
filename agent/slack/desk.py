"""The approval desk: what happens when someone clicks Approve or Reject (or types `/opsmedic approve ID`).

Slack-specific checks live here — the button's opaque id, who clicked (user groups resolved with
`usergroups.users.list`), a stale preview, a duplicated click; the approval rules themselves (TTL, requester,
named approvers, two-person rule) are `agent.approvals.check_approval`'s. An approval that passes goes to the
graph through `agent.runner.submit_approval`; every refused click is audited with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agent.approvals import check_approval, target_changed
from agent.audit import AuditLog
from agent.errors import InvalidRequest, NotFound
from agent.models import Approval, Proposal
from agent.runner import submit_approval
from agent.slack.blocks import escape
from agent.slack.notifier import CLOSED_KEY, approval_round_over, button_token, lookup_button
from agent.slack.timeline import read_timeline
from agent.store import Store

log = logging.getLogger(__name__)
CLICK_KEY = "slack:click:{}:{}"
Outcome = Literal["queued", "refused", "duplicate", "closed"]
TargetReader = Callable[[Proposal], Awaitable[Mapping[str, Any]]]
"""Reads the target's current generation / images / replicas (or adapter values) to compare with the preview."""


@dataclass(frozen=True)
class DeskAnswer:
    outcome: Outcome
    message: str
    """What the clicker sees (ephemeral)."""
    incident_id: str = ""
    close: str = ""
    """When set, the buttons are replaced by this text (expired, stale)."""
    after_seq: int = 0
    """For a queued answer: the audit head when it was queued (the graph's verdict comes after it)."""


class ApprovalDesk:
    def __init__(
        self, store: Store, audit: AuditLog, client: AsyncWebClient, clock: Callable[[], datetime], *,
        read_target: TargetReader | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.client = client
        self.clock = clock
        self.read_target = read_target
        self._locks: dict[str, asyncio.Lock] = {}
        self._bot: str | None = None
        self.bot_ids: list[str] = []
        """The bot's own Slack user id once known (auth.test); shared with the graph as `clients.bot_ids`."""
        self.group_members: dict[str, list[str]] = {}
        """User groups resolved so far (group id → member ids); the graph's approve node reads the same dict
        as `clients.approver_groups`, so that it counts a group member the desk let through."""

    def token_for(self, incident_id: str) -> str:
        """The current approval round's button id for an incident ('' when none is open)."""
        t = read_timeline(self.store.audit_records(incident_id))
        return button_token(incident_id, t.proposal_seq) if t.proposal is not None and t.decision else ""

    async def answer(self, token: str, user: str, approved: bool, comment: str = "") -> DeskAnswer:
        key = CLICK_KEY.format(token, user)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one click per (round, person) is handled at a time: a double click acts once
            answer = await self._answer(token, user, approved, comment, key)
        if answer.outcome in ("refused", "closed"):
            await asyncio.to_thread(self.audit.append, answer.incident_id, "approval", user, {
                "verdict": "refused", "approved": approved, "reason": answer.message, "via": "slack"})
        if answer.close:
            await asyncio.to_thread(self.store.set_control, CLOSED_KEY.format(token), answer.close)
        return answer

    async def _answer(self, token: str, user: str, approved: bool, comment: str, key: str) -> DeskAnswer:
        info = await asyncio.to_thread(lookup_button, self.store, token)
        if info is None:
            return DeskAnswer("refused", "This button does not belong to any approval opsmedic knows.")
        incident_id = str(info["incident_id"])
        if await asyncio.to_thread(self.store.get_control, key):
            return DeskAnswer("duplicate", "Your answer was already recorded; it counts once.", incident_id)
        incident = await asyncio.to_thread(self.store.get_incident, incident_id)
        t = read_timeline(await asyncio.to_thread(self.store.audit_records, incident_id))
        if t.proposal is None or t.decision is None or t.proposal_seq != info["proposal_seq"]:
            why = "This preview is stale: a newer proposal replaced it. Use the buttons on the current message."
            return DeskAnswer("closed", why, incident_id, close=":warning: *Stale:* a newer proposal replaced this one")
        if over := approval_round_over(t):
            return DeskAnswer("refused", f"This approval is already decided. {over}", incident_id)
        decided_at = t.decided_at or incident.updated_at
        check = check_approval(
            Approval(approved=approved, actor=user, at=self.clock(), comment=comment), t.decision,
            requester=incident.requester, decided_at=decided_at, now=self.clock(),
            counted=[a for a in t.approvals if a.approved], bot_ids=[await self._bot_user()],
            groups=await self.resolve_groups(t.decision.approvers),
        )
        if check.verdict == "expired":
            return DeskAnswer("closed", f"Too late: {check.reason}.", incident_id,
                              close=f":hourglass: *Expired:* {escape(check.reason)}")
        if check.verdict == "ignored":
            return DeskAnswer("refused", _why_ignored(check.reason, user, incident.requester), incident_id)
        previewed = t.proposal.preview.get("snapshot") or t.proposal.preview
        if approved and self.read_target is not None and isinstance(previewed, dict) and previewed:
            changed = target_changed(previewed, await self.read_target(t.proposal))
            if changed:
                return DeskAnswer("closed", f"Refused: the target changed since the preview ({changed}).",
                                  incident_id,
                                  close=f":warning: *Stale preview:* the target changed ({escape(changed)})")
        approval = Approval(approved=approved, actor=user, at=self.clock(), comment=comment)
        head = (await asyncio.to_thread(self.store.audit_head))[0]
        try:
            await asyncio.to_thread(submit_approval, self.store, incident_id, approval)
        except (InvalidRequest, NotFound) as exc:
            return DeskAnswer("refused", f"Not now: {exc}.", incident_id)
        await asyncio.to_thread(self.store.set_control, key, "approved" if approved else "rejected")
        if not approved:
            return DeskAnswer("queued", "Rejected; nothing will change.", incident_id, after_seq=head)
        need = max(1, t.decision.min_approvals)
        have = len({a.actor for a in t.approvals if a.approved} | {user})
        more = f" Waiting for {need - have} more approver(s)." if have < need else " Executing."
        return DeskAnswer("queued", f"Approved ({have} of {need}).{more}", incident_id, after_seq=head)

    async def graph_verdict(self, incident_id: str, user: str, after_seq: int, timeout_s: float = 30.0) -> str:
        """Once the graph has taken a queued answer: why it refused it ('' when it counted, or on timeout).

        The approve node re-checks everything when it resumes (expiry, approvers, the target against the
        preview); this reads its verdict from the audit trail so that the clicker hears about a late refusal."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            records = [r for r in await asyncio.to_thread(self.store.audit_records, incident_id)
                       if r.seq > after_seq and r.data.get("via") != "slack"]
            for r in records:
                if r.kind == "approval" and r.data.get("event") == "refused":
                    return str(r.data.get("reason", "refused"))
                if r.kind == "approval" and r.actor == user and r.data.get("verdict") in ("ignored", "expired"):
                    return str(r.data.get("reason", r.data["verdict"]))
            if any(r.kind == "node" and r.data.get("node") == "approve" for r in records):
                return ""
            await asyncio.sleep(0.2)
        return ""

    async def _bot_user(self) -> str:
        if self._bot is None:
            try:
                self._bot = str((await self.client.auth_test()).get("user_id", ""))
                self.bot_ids.append(self._bot)
            except SlackApiError as exc:
                log.warning("auth.test failed: %s", exc)
                return ""
        return self._bot

    async def resolve_groups(self, approvers: list[str]) -> dict[str, list[str]]:
        """Members of the approver entries that are user groups (ids starting with S)."""
        groups: dict[str, list[str]] = {}
        for entry in approvers:
            if entry.startswith("S"):
                try:
                    response = await self.client.usergroups_users_list(usergroup=entry)
                    groups[entry] = list(response.get("users", []))
                    self.group_members[entry] = groups[entry]
                except SlackApiError as exc:
                    log.warning("cannot resolve user group %s: %s", entry, exc)
        return groups


def _why_ignored(reason: str, user: str, requester: str) -> str:
    if requester and user == requester.rsplit(":", 1)[-1]:
        return "You asked for this change, so your approval cannot count: another approver must decide."
    if "already approved" in reason:
        return "You already approved; the two-person rule needs someone else."
    if "not among the approvers" in reason:
        return "You are not an approver for this action (the policy rule names who is)."
    return f"Your click does not count: {reason}."
