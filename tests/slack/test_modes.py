"""Which mode Slack runs in follows from the settings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from agent.audit import AuditLog, Redactor
from agent.errors import ConfigError
from agent.settings import load_settings
from agent.slack.app import Slack, build_slack, slack_routes, socket_mode_handler
from agent.store.sqlite import SqliteStore
from tests.slack.conftest import SECRET, TOKEN


def _build(tmp_path: Path, **slack: str) -> Slack:
    settings = load_settings(env={}, data_dir=tmp_path, slack_bot_token=TOKEN, slack_channel="C1", **slack)
    store = SqliteStore(settings.sqlite_path)
    try:
        built = build_slack(settings, store, AuditLog(store, Redactor()), approvers=[])
        assert built is not None
        return built
    finally:
        store.close()


def test_http_mode_serves_slack_events_next_to_the_webhooks(tmp_path: Path) -> None:
    slack = _build(tmp_path, slack_signing_secret=SECRET)
    assert [r.path for r in slack_routes(slack)] == ["/slack/events"]


async def test_socket_mode_needs_only_the_app_token_and_no_public_route(tmp_path: Path) -> None:
    slack = _build(tmp_path, slack_app_token="xapp-1-A0OPSMEDIC-123-abcdef")
    assert slack_routes(slack) == []
    handler = socket_mode_handler(slack)
    assert isinstance(handler, AsyncSocketModeHandler) and handler.app_token.startswith("xapp-")


async def test_socket_mode_without_an_app_token_says_what_to_set(tmp_path: Path) -> None:
    slack = _build(tmp_path, slack_signing_secret=SECRET)
    with pytest.raises(ConfigError, match="slack_app_token"):
        socket_mode_handler(slack)


def test_slack_without_a_channel_says_what_to_set(tmp_path: Path) -> None:
    settings = load_settings(env={}, data_dir=tmp_path, slack_bot_token=TOKEN, slack_signing_secret=SECRET)
    store = SqliteStore(settings.sqlite_path)
    with pytest.raises(ConfigError, match="slack_channel"):
        build_slack(settings, store, AuditLog(store, Redactor()))
    store.close()


async def test_running_follows_the_audit_trail_and_posts_new_incidents(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.slack.app import running
    from tests.slack.slack_api import SlackApiServer

    with SlackApiServer(token=TOKEN) as api:
        settings = load_settings(env={}, data_dir=tmp_path, slack_bot_token=TOKEN, slack_channel="C1",
                                 slack_signing_secret=SECRET, slack_api_url=api.api_url)
        store = SqliteStore(settings.sqlite_path)
        audit = AuditLog(store, Redactor())
        slack = build_slack(settings, store, audit, approvers=[], post_interval_s=0)
        assert slack is not None
        slack.notifier.poll_s = 0.05
        async with running(slack):
            now = datetime.now(UTC)
            incident = store.open_incident(title="GPU node lost", labels={}, instant=now, source="cli",
                                           requester="", now=now)
            audit.append(incident.id, "alert", "cli", {"effect": "created"})
            for _ in range(100):
                if slack.notifier.thread(incident.id):
                    break
                await asyncio.sleep(0.05)
        assert slack.notifier.thread(incident.id) is not None
        assert "GPU node lost" in api.calls("chat.postMessage")[0].params["text"]
        store.close()


async def test_audit_checkpoints_are_copied_to_the_audit_channel(tmp_path: Path) -> None:
    from agent.audit_seal import open_seal
    from agent.slack.app import running
    from tests.slack.slack_api import SlackApiServer

    with SlackApiServer(token=TOKEN) as api:
        settings = load_settings(env={}, data_dir=tmp_path, slack_bot_token=TOKEN, slack_channel="C1",
                                 slack_signing_secret=SECRET, slack_api_url=api.api_url,
                                 slack_audit_channel="CAUDIT", audit_checkpoint_every=2)
        store = SqliteStore(settings.sqlite_path)
        audit = AuditLog(store, Redactor(), seal=open_seal(settings))
        slack = build_slack(settings, store, audit, approvers=[], post_interval_s=0)
        assert slack is not None
        async with running(slack):
            audit.append("", "message", "system", {"n": 1})
            await asyncio.to_thread(audit.append, "", "message", "system", {"n": 2})  # a worker thread's append
            audit.append("", "message", "system", {"n": 3})
        store.close()
        posted = [c.params["text"] for c in api.calls("chat.postMessage") if c.params["channel"] == "CAUDIT"]
        written = [json.loads(line)["mac"] for line in settings.audit_checkpoint_path.read_text().splitlines()]
        # the interval's checkpoint from the worker thread, then the head at shutdown; each as written to the file
        assert [text.split(" hash ")[0] for text in posted] == [
            "audit checkpoint: record 2", "audit checkpoint: record 3"]
        assert [text.rsplit(" mac ", 1)[1] for text in posted] == written
