"""Mentions: a free-text question goes to the LLM reasoner when one is configured; otherwise the help."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from agent.slack.blocks import clip, escape, section
from agent.slack.commands import HELP

if TYPE_CHECKING:
    from agent.slack.app import SlackDeps

log = logging.getLogger(__name__)
SYSTEM = ("You are opsmedic, an incident-response assistant for teams running LLM features in production. "
          "Answer the on-call engineer's question briefly and concretely. You cannot change anything; "
          "changes go through `/opsmedic` proposals and approvals.")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_mention")
    async def mention(ack: Any, event: dict[str, Any], say: Any) -> None:
        await ack()
        question = re.sub(r"<@[A-Z0-9]+>", "", event.get("text", "")).strip()
        reply = await answer(deps, question)
        await say(blocks=[section(reply)], text=clip(reply, 3000), thread_ts=event.get("thread_ts") or event.get("ts"))


async def answer(deps: SlackDeps, question: str) -> str:
    if deps.chat_model is None or not question:
        return HELP
    try:
        message = await deps.chat_model.ainvoke([("system", SYSTEM), ("human", question)])
    except Exception as exc:  # a model outage must not leave the user without an answer
        log.warning("the LLM could not answer a mention: %s", exc)
        return f"The LLM is unavailable right now ({escape(type(exc).__name__)}).\n\n{HELP}"
    content = message.content if isinstance(message.content, str) else str(message.content)
    return escape(content) or HELP
