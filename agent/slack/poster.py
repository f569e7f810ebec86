"""Posting to Slack at Slack's pace: about one message per second per channel, and `429 Retry-After` honoured.

A message is never dropped because Slack said "slow down": the poster waits as long as `Retry-After` asks and
sends it again (up to `max_attempts`, then it raises, so the caller knows). Posts and updates to one channel go
out one at a time, in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agent.slack.blocks import Block, check_limits

log = logging.getLogger(__name__)


class Poster:
    def __init__(
        self, client: AsyncWebClient, *, interval_s: float = 1.0, max_attempts: int = 8,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        redactor: Callable[[Any], Any] | None = None,
    ) -> None:
        self._redact = redactor or (lambda value: value)
        self.client = client
        self.interval_s = interval_s
        self.max_attempts = max_attempts
        self._monotonic = monotonic
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self.waited_s = 0.0
        """Total time spent waiting on Retry-After (for metrics and tests)."""

    async def post(self, channel: str, blocks: list[Block], text: str, thread_ts: str | None = None) -> str:
        """Post a message (a thread reply with `thread_ts`); returns its `ts`."""
        blocks, text = self._redact(blocks), self._redact(text)
        _guard(blocks)
        kwargs: dict[str, Any] = {"channel": channel, "blocks": blocks, "text": text, "unfurl_links": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = await self._paced(channel, lambda: self.client.chat_postMessage(**kwargs))
        return str(response["ts"])

    async def update(self, channel: str, ts: str, blocks: list[Block], text: str) -> None:
        blocks, text = self._redact(blocks), self._redact(text)
        _guard(blocks)
        await self._paced(channel, lambda: self.client.chat_update(channel=channel, ts=ts, blocks=blocks,
                                                                   text=text))

    async def ephemeral(self, channel: str, user: str, blocks: list[Block], text: str) -> None:
        blocks, text = self._redact(blocks), self._redact(text)
        _guard(blocks)
        await self._retrying(lambda: self.client.chat_postEphemeral(channel=channel, user=user, blocks=blocks,
                                                                    text=text))

    async def upload(self, channel: str, thread_ts: str, filename: str, content: bytes, title: str) -> None:
        await self._paced(channel, lambda: self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, filename=filename, content=content, title=title))

    async def _paced(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None:
                wait = last + self.interval_s - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            try:
                return await self._retrying(call)
            finally:
                self._last[channel] = self._monotonic()

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await call()
            except SlackApiError as exc:
                if exc.response.status_code != 429 or attempt == self.max_attempts:
                    raise
                delay = _retry_after(exc.response.headers)
                log.warning("Slack rate-limited %s; retrying in %.0f s (attempt %d of %d)",
                            exc.response.api_url, delay, attempt, self.max_attempts)
                self.waited_s += delay
                await self._sleep(delay)
        raise AssertionError("unreachable")


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return 1.0


def _guard(blocks: list[Block]) -> None:
    problems = check_limits(blocks)
    if problems:  # a bug in a builder: say so loudly rather than let Slack answer invalid_blocks
        raise ValueError("message breaks Block Kit limits: " + "; ".join(problems[:5]))
