"""The notifier (`Clients.notifier`): one Slack message per incident, kept up to date, plus thread replies.

It renders from the store and the audit trail (see `timeline`), so whoever tells it that an incident moved —
a graph node through `changed(id)`, the execute node through `escalate(id, reason)`, or its own `run()` loop
watching the audit trail — gets the same message. Where the message lives (channel, ts) and which records
were already replied to is kept in the store (control keys `slack:thread:<incident>`), so a restarted server
or a separate worker process updates the same message instead of posting a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from agent.errors import NotFound, StoreUnavailable
from agent.models import ActionResult, AuditRecord
from agent.slack import charts
from agent.slack.blocks import escape
from agent.slack.messages import (
    escalation_blocks,
    incident_blocks,
    incident_text,
    notice_blocks,
    resolution_blocks,
    result_blocks,
    user,
    verification_blocks,
)
from agent.slack.poster import Poster
from agent.slack.timeline import Timeline, lenient, load_view
from agent.store import Store

log = logging.getLogger(__name__)
THREAD_KEY = "slack:thread:{}"
BUTTON_KEY = "slack:button:{}"
CLOSED_KEY = "slack:closed:{}"


@dataclass
class Thread:
    channel: str
    ts: str
    replied: list[int] = field(default_factory=list)
    chart: bool = False


def route(labels: dict[str, str], routes: list[dict[str, str]], default: str) -> str:
    """The channel for an incident: the first route whose labels all match, else `default`."""
    for r in routes:
        wanted = {k: v for k, v in r.items() if k != "channel"}
        if r.get("channel") and all(labels.get(k) == v for k, v in wanted.items()):
            return r["channel"]
    return default


def button_token(incident_id: str, proposal_seq: int) -> str:
    """The opaque id an Approve/Reject button carries: one per incident and proposal."""
    return hashlib.sha256(f"{incident_id}:{proposal_seq}".encode()).hexdigest()[:20]


def approval_round_over(t: Timeline) -> str:
    """How the current approval round ended ('' while it is open)."""
    d = t.decision
    if d is None or d.effect != "require_approval":
        return ""
    if t.refused:
        return f":no_entry: *Refused:* {escape(t.refused)}"
    for a in t.approvals:
        if not a.approved:
            return f":no_entry: *Rejected* by {user(a.actor)}" + (f": {escape(a.comment)}" if a.comment else "")
    yes = list(dict.fromkeys(a.actor for a in t.approvals if a.approved))
    if len(yes) >= max(1, d.min_approvals):
        return ":white_check_mark: *Approved* by " + ", ".join(user(a) for a in yes)
    return ""


class Notifier:
    def __init__(
        self, poster: Poster, store: Store, *, channel: str, routes: list[dict[str, str]] | None = None,
        prometheus: Any = None, poll_s: float = 0.5,
    ) -> None:
        self.poster = poster
        self.store = store
        self.channel = channel
        self.routes = routes or []
        self.prometheus = prometheus
        self.poll_s = poll_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()

    # -- hooks the graph calls ------------------------------------------------------------------------------

    def changed(self, incident_id: str) -> None:
        """An incident moved: refresh its message soon (safe to call from sync or async code on the loop)."""
        self._spawn(self.sync(incident_id))

    def escalate(self, incident_id: str, reason: str) -> None:
        """`notify.escalate`: page the channel in the incident's thread."""
        self._spawn(self._escalate(incident_id, reason))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the updates already scheduled (tests, shutdown); cancel what is still running after
        `timeout_s`."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
                return
            await asyncio.wait(list(self._tasks), timeout=left)

    # -- the watch loop --------------------------------------------------------------------------------------

    async def run(self, since: int | None = None) -> None:
        """Follow the audit trail and refresh every incident that got records after seq `since` (default: from
        the first look), until `stop()`."""
        seen = since
        while not self._stop.is_set():
            try:
                head = (await asyncio.to_thread(self.store.audit_head))[0]
                if seen is not None and head != seen:
                    moved = await asyncio.to_thread(self.store.audit_incidents_since, seen)
                    for incident_id in moved:
                        if incident_id:
                            await self.sync(incident_id)
                seen = head
            except StoreUnavailable as exc:
                log.warning("Slack: the store is unavailable (%s); retrying", exc)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_s)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()

    # -- rendering -------------------------------------------------------------------------------------------

    def thread(self, incident_id: str) -> Thread | None:
        raw = self.store.get_control(THREAD_KEY.format(incident_id))
        return Thread(**json.loads(raw)) if raw else None

    def _save(self, incident_id: str, thread: Thread) -> None:
        self.store.set_control(THREAD_KEY.format(incident_id), json.dumps(thread.__dict__))

    async def sync(self, incident_id: str) -> None:
        """Bring the incident's message and thread up to date. Never raises: Slack trouble is logged."""
        lock = self._locks.setdefault(incident_id, asyncio.Lock())
        async with lock:
            try:
                await self._sync(incident_id)
            except NotFound:
                log.warning("Slack: incident %s does not exist", incident_id)
            except (SlackApiError, StoreUnavailable, OSError, ValueError) as exc:
                log.error("Slack: could not update incident %s: %s", incident_id, exc)

    async def _sync(self, incident_id: str) -> None:
        view, t = await asyncio.to_thread(load_view, self.store, incident_id)
        token, closed = "", approval_round_over(t)
        if t.decision is not None and t.decision.effect == "require_approval" and t.proposal is not None:
            token = button_token(incident_id, t.proposal_seq)
            refused = await asyncio.to_thread(self.store.get_control, CLOSED_KEY.format(token))
            closed = closed or (refused or "")
            if not await asyncio.to_thread(self.store.get_control, BUTTON_KEY.format(token)):
                await asyncio.to_thread(self.store.set_control, BUTTON_KEY.format(token),
                                        json.dumps({"incident_id": incident_id, "proposal_seq": t.proposal_seq}))
        view = type(view)(**{**view.__dict__, "token": token, "closed": closed})
        blocks, text = incident_blocks(view), incident_text(view)
        thread = await asyncio.to_thread(self.thread, incident_id)
        if thread is None:
            channel = route(view.incident.labels, self.routes, self.channel)
            ts = await self.poster.post(channel, blocks, text)
            thread = Thread(channel, ts)
            await asyncio.to_thread(self._save, incident_id, thread)
        else:
            await self.poster.update(thread.channel, thread.ts, blocks, text)
        for record in t.replies:
            if record.seq in thread.replied:
                continue
            reply = reply_blocks(record)
            await self.poster.post(thread.channel, reply, plain_text(reply), thread_ts=thread.ts)
            thread.replied.append(record.seq)
            await asyncio.to_thread(self._save, incident_id, thread)
        if t.diagnosis is not None and not thread.chart and self.prometheus is not None:
            chart = await asyncio.to_thread(charts.chart_for, self.prometheus, view.incident, t.evidence)
            thread.chart = True
            await asyncio.to_thread(self._save, incident_id, thread)
            if chart is not None:
                query, png = chart
                await self.poster.upload(thread.channel, thread.ts, f"{incident_id}.png", png, query[:200])

    async def _escalate(self, incident_id: str, reason: str) -> None:
        await self.sync(incident_id)
        thread = await asyncio.to_thread(self.thread, incident_id)
        if thread is None:
            return
        blocks = escalation_blocks(reason)
        try:
            await self.poster.post(thread.channel, blocks, plain_text(blocks), thread_ts=thread.ts)
        except SlackApiError as exc:
            log.error("Slack: could not escalate incident %s: %s", incident_id, exc)

    async def say_closed(self, token: str, text: str) -> None:
        """Replace an approval round's buttons with `text` (expired, stale) and refresh the message."""
        raw = await asyncio.to_thread(self.store.get_control, BUTTON_KEY.format(token))
        await asyncio.to_thread(self.store.set_control, CLOSED_KEY.format(token), text)
        if raw:
            await self.sync(json.loads(raw)["incident_id"])

    def later(self, coro: Any) -> None:
        """Run `coro` in the background (kept referenced; `drain()` waits for it)."""
        self._spawn(coro)

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            log.warning("Slack: no event loop to send an update on; the watch loop will catch up")
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def reply_blocks(record: AuditRecord) -> list[dict[str, Any]]:
    """The thread reply for an action, verification or outcome record."""
    if record.kind == "action":
        result = lenient(ActionResult, record.data)
        return result_blocks(result) if result else notice_blocks(f"Action: {escape(str(record.data))}")
    if record.kind == "verification":
        return verification_blocks(record.data)
    return resolution_blocks(str(record.data.get("outcome", "")), str(record.data.get("status", "")))


def plain_text(blocks: list[dict[str, Any]]) -> str:
    """The `text` fallback of a reply: its sections' mrkdwn, already escaped where untrusted."""
    return " ".join(b.get("text", {}).get("text", "") for b in blocks if "text" in b)[:3000] or "opsmedic"


def lookup_button(store: Store, token: str) -> dict[str, Any] | None:
    raw = store.get_control(BUTTON_KEY.format(token))
    return json.loads(raw) if raw else None


__all__ = ["Notifier", "Thread", "approval_round_over", "button_token", "lookup_button", "route"]
