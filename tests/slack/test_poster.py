"""Posting paces itself per channel and rides out 429s without losing a message."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from agent.slack.blocks import section
from agent.slack.poster import Poster
from tests.slack.conftest import TOKEN
from tests.slack.slack_api import SlackApiServer


async def test_a_429_with_retry_after_2_delays_the_post_and_loses_nothing() -> None:
    with SlackApiServer(token=TOKEN) as slack:
        poster = Poster(AsyncWebClient(token=TOKEN, base_url=slack.api_url), interval_s=0)
        slack.rate_limit("chat.postMessage", retry_after=2)
        started = time.monotonic()
        ts = await poster.post("C1", [section("first")], "first")
        elapsed = time.monotonic() - started
        calls = slack.calls("chat.postMessage")
        assert [c.status for c in calls] == [429, 200]
        assert calls[1].at - calls[0].at >= 2.0 and elapsed >= 2.0
        assert slack.message("C1", ts)["text"] == "first"
        await poster.post("C1", [section("second")], "second")
        assert [c.params["text"] for c in slack.calls("chat.postMessage") if c.status == 200] == ["first", "second"]


async def test_posts_to_one_channel_go_out_about_one_per_second_in_order() -> None:
    with SlackApiServer(token=TOKEN) as slack:
        poster = Poster(AsyncWebClient(token=TOKEN, base_url=slack.api_url))
        await asyncio.gather(*(poster.post("C1", [section(str(i))], str(i)) for i in range(3)),
                             poster.post("C2", [section("other")], "other"))
        c1 = [c for c in slack.calls("chat.postMessage") if c.params["channel"] == "C1"]
        assert [c.params["text"] for c in c1] == ["0", "1", "2"]
        gaps = [b.at - a.at for a, b in zip(c1, c1[1:], strict=False)]
        assert all(g >= 0.95 for g in gaps), gaps
        c2 = [c for c in slack.calls("chat.postMessage") if c.params["channel"] == "C2"]
        assert c2[0].at - c1[0].at < 0.5, "another channel does not wait for this one"


async def test_a_message_over_the_limits_is_never_sent() -> None:
    with SlackApiServer(token=TOKEN) as slack:
        poster = Poster(AsyncWebClient(token=TOKEN, base_url=slack.api_url))
        with pytest.raises(ValueError, match="Block Kit limits"):
            await poster.post("C1", [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "x")
        assert slack.calls("chat.postMessage") == []
