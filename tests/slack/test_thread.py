"""A full incident produces one Slack message, updated in place as it moves, and a thread of what followed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.audit import AuditLog, Redactor
from agent.settings import load_settings
from agent.slack import app as slack_app
from agent.slack.app import build_slack
from agent.store.sqlite import SqliteStore
from tests.slack.conftest import CHANNEL, Harness, alert_body, text_of


async def _incident(harness: Harness, **labels: str) -> str:
    response = await harness.http.post(f"{harness.url}/alertmanager", json=alert_body(**labels))
    assert response.status_code == 200, response.text
    incident_id: str = response.json()["incident_id"]
    await harness.run_worker()
    await harness.slack.notifier.sync(incident_id)
    return incident_id


async def test_a_full_incident_is_one_message_updated_in_place(harness: Harness) -> None:
    incident_id = await _incident(harness)
    thread = harness.slack.notifier.thread(incident_id)
    assert thread is not None and thread.channel == CHANNEL
    top_level = [c for c in harness.slack_api.calls("chat.postMessage") if not c.params.get("thread_ts")]
    assert len(top_level) == 1, "one message per incident"
    assert {c.params["ts"] for c in harness.slack_api.calls("chat.update")} == {thread.ts}
    text = text_of(harness.message(incident_id))
    assert "Output validation failures above 5% for summarizer" in text  # the alert summary
    assert "`summarizer`" in text and "`prod`" in text and "`critical`" in text
    assert "Diagnosis" in text and "Top evidence" in text
    assert "rate(llm_output_validation_failures_total[5m]) &gt; 0.05" in text  # the query behind the evidence
    assert "*Proposed:* `notify.escalate`" in text
    assert "*Decision:*" in text and "by rule `" in text
    assert "handled" in text or "resolved" in text


async def test_execution_verification_and_resolution_are_thread_replies(harness: Harness) -> None:
    incident_id = await _incident(harness)
    thread = harness.slack.notifier.thread(incident_id)
    assert thread is not None
    replies = [c.params["text"] for c in harness.slack_api.calls("chat.postMessage")
               if c.params.get("thread_ts") == thread.ts]
    assert any("*Execution:* `notify.escalate`" in r and "escalated" in r for r in replies)
    assert any("*Verification:*" in r for r in replies)
    assert any("*Handled:*" in r or "*Resolved:*" in r for r in replies)
    assert any("<!here>" in r for r in replies), "notify.escalate pages the channel in the thread"
    assert len(replies) == len(set(replies)), "no reply is posted twice"


async def test_a_second_sync_posts_nothing_new(harness: Harness) -> None:
    incident_id = await _incident(harness)
    posts = len(harness.slack_api.calls("chat.postMessage"))
    await harness.slack.notifier.sync(incident_id)
    assert len(harness.slack_api.calls("chat.postMessage")) == posts


async def test_incidents_are_routed_to_a_channel_by_their_labels(harness: Harness) -> None:
    incident_id = await _incident(harness, namespace="gpu")
    thread = harness.slack.notifier.thread(incident_id)
    assert thread is not None and thread.channel == "C0GPUTEAM"


def test_without_slack_settings_the_bot_runs_and_says_once_that_slack_is_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(env={}, data_dir=tmp_path)
    store = SqliteStore(settings.sqlite_path)
    audit = AuditLog(store, Redactor())
    slack_app.OFF_NOTICE.said = False
    with caplog.at_level(logging.INFO, logger="agent.slack.app"):
        assert build_slack(settings, store, audit) is None
        assert build_slack(settings, store, audit) is None
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "Slack is off" in caplog.records[0].getMessage()
    assert slack_app.slack_routes(None) == []
    store.close()


async def test_a_rate_limited_thread_loses_no_reply(harness: Harness) -> None:
    harness.slack_api.rate_limit("chat.postMessage", retry_after=1, times=2)
    incident_id = await _incident(harness)
    thread = harness.slack.notifier.thread(incident_id)
    assert thread is not None
    assert [c.status for c in harness.slack_api.calls("chat.postMessage")][:2] == [429, 429]
    replies = [c.params["text"] for c in harness.slack_api.calls("chat.postMessage")
               if c.status == 200 and c.params.get("thread_ts") == thread.ts]
    for kind in ("*Execution:*", "*Verification:*", "<!here>"):
        assert any(kind in r for r in replies), f"{kind} reply lost"
