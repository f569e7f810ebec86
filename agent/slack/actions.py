"""Approve / Reject buttons: acknowledged at once; the desk decides after the ack; the clicker hears why."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agent.errors import OpsmedicError
from agent.slack.blocks import escape
from agent.slack.desk import DeskAnswer
from agent.slack.messages import APPROVE, REJECT, notice_blocks

if TYPE_CHECKING:
    from agent.slack.app import SlackDeps

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(APPROVE)
    async def approve(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await on_click(deps, body, approved=True)

    @app.action(REJECT)
    async def reject(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await on_click(deps, body, approved=False)


async def on_click(deps: SlackDeps, body: dict[str, Any], *, approved: bool) -> None:
    token = str(body.get("actions", [{}])[0].get("value", ""))
    user_id = str(body.get("user", {}).get("id", ""))
    channel = str(body.get("channel", {}).get("id", "") or body.get("container", {}).get("channel_id", ""))
    try:
        result = await deps.desk.answer(token, user_id, approved)
    except OpsmedicError as exc:
        log.warning("Slack click by %s on %s failed: %s", user_id, token, exc)
        result = DeskAnswer("refused", f"opsmedic could not record your click ({exc}); nothing changed. Try again.")
    log.info("Slack click by %s on %s: %s (%s)", user_id, token, result.outcome, result.message)
    if result.close:
        await deps.notifier.say_closed(token, result.close)
    elif result.incident_id:
        await deps.notifier.sync(result.incident_id)
    await tell(deps, channel, user_id, result.message)
    if result.outcome == "queued":
        deps.notifier.later(follow_up(deps, result.incident_id, channel, user_id, result.after_seq))


async def follow_up(deps: SlackDeps, incident_id: str, channel: str, user_id: str, after_seq: int) -> None:
    """Tell the clicker when the graph, re-checking on resume, refused what the desk had let through."""
    why = await deps.desk.graph_verdict(incident_id, user_id, after_seq)
    await deps.notifier.sync(incident_id)
    if why:
        await tell(deps, channel, user_id, f"The approval did not go through: {why}")


async def tell(deps: SlackDeps, channel: str, user_id: str, text: str) -> None:
    if channel and user_id:
        try:
            await deps.poster.ephemeral(channel, user_id, notice_blocks(escape(text)), escape(text))
        except SlackApiError as exc:
            log.warning("could not tell %s why: %s", user_id, exc)
