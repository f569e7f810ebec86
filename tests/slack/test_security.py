"""Requests to /slack/events that Slack did not sign, or that replay an old one, are refused and audited."""

from __future__ import annotations

import pytest

from tests.slack.conftest import SECRET, Harness


def _refusals(harness: Harness) -> list[str]:
    return [r.data["reason"] for r in harness.audit.records("") if r.data.get("endpoint") == "slack"]


async def _refused(harness: Harness, body: bytes, headers: dict[str, str], why: str) -> None:
    response = await harness.post_slack(body, headers)
    assert response.status_code == 401
    assert why in response.json()["error"]
    assert any(why in reason for reason in _refusals(harness)), "the refusal is audited"
    assert harness.store.list_incidents() == [], "nothing changed"
    assert harness.slack_api.calls("response_url") == [], "no command ran"


async def test_a_bad_signature_is_refused(harness: Harness) -> None:
    body = harness.command_body("investigate summarizer")
    await _refused(harness, body, harness.signed(body, secret=SECRET[::-1]), "bad Slack signature")


async def test_a_body_changed_after_signing_is_refused(harness: Harness) -> None:
    body = harness.command_body("investigate summarizer")
    headers = harness.signed(body)
    await _refused(harness, body.replace(b"summarizer", b"gateway"), headers, "bad Slack signature")


async def test_a_missing_signature_is_refused(harness: Harness) -> None:
    body = harness.command_body("investigate summarizer")
    await _refused(harness, body, {"Content-Type": "application/x-www-form-urlencoded"}, "missing Slack signature")


async def test_a_timestamp_301_seconds_old_is_refused(harness: Harness) -> None:
    body = harness.command_body("investigate summarizer")
    await _refused(harness, body, harness.signed(body, age_s=301), "more than 300 s")


@pytest.mark.parametrize("age_s", [0, 290])
async def test_a_fresh_signed_request_is_accepted(harness: Harness, age_s: int) -> None:
    body = harness.command_body("investigate summarizer")
    response = await harness.post_slack(body, harness.signed(body, age_s=age_s))
    assert response.status_code == 200
    await harness.wait_for(lambda: harness.store.list_incidents(), "the incident")


async def test_a_replayed_request_is_refused_and_acts_once(harness: Harness) -> None:
    body = harness.command_body("investigate summarizer")
    headers = harness.signed(body)
    assert (await harness.post_slack(body, headers)).status_code == 200
    await harness.wait_for(lambda: harness.slack_api.calls("response_url"), "the first answer")
    replay = await harness.post_slack(body, headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["error"]
    assert any("replayed" in reason for reason in _refusals(harness))
    assert len(harness.store.list_incidents()) == 1, "the replay opened no second incident"
