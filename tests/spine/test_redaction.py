"""One redactor before everything leaves: the audit log, Slack, the HTTP API and the LLM's context. Each default
pattern is tested on the kind of secret it exists for, and on text that must survive it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from agent.audit import REDACTED, Redactor, secret_key
from agent.settings import DEFAULT_REDACT_PATTERNS
from agent.webhook import AlertmanagerPayload
from tests.spine.conftest import ServerThread, sample_payload

DEFAULT = Redactor(DEFAULT_REDACT_PATTERNS)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(("text", "secret", "kept"), [
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_access_key"),
    (f"the key {AWS_SECRET} leaked", AWS_SECRET, "the key"),
    ("Authorization: Basic YWxpY2U6czNjcmV0LXBhc3M=", "YWxpY2U6czNjcmV0LXBhc3M=", "Authorization"),
    ("db password=hunter2-prod and more", "hunter2-prod", "password="),
    ('{"api_key": "k-1234567"}', "k-1234567", "api_key"),
    ("postgres://app:s3cr3t-pw@db.internal:5432/app", "app:s3cr3t-pw", "@db.internal:5432"),
    ("token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A seen", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A", "seen"),
    ("key AIzaSyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v used", "AIzaSyA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1v", "used"),
    ("Bearer abcdefgh12345678", "abcdefgh12345678", ""),
])
def test_each_default_pattern_removes_its_secret_and_keeps_the_rest(text: str, secret: str, kept: str) -> None:
    clean = DEFAULT.text(text)
    assert secret not in clean and REDACTED in clean
    assert kept in clean


@pytest.mark.parametrize("text", [
    "sha1 3f786850e387550fdab836ed7e6dc881de23001b of the build",  # a hex digest, no upper case
    "rate(http_requests_total{code=~\"5..\"}[5m]) > 0.05",
    "llm_tokens_total{direction=\"input\"} rose 40%",
    "https://status.openai.com/api/v2/summary.json",
])
def test_ordinary_evidence_survives(text: str) -> None:
    assert DEFAULT.text(text) == text


def test_values_under_secret_keys_go_whatever_their_type() -> None:
    data = {"password": 123456, "api_keys": ["a", "b"], "client_secret": ["x"], "access_token": {"v": 1},
            "tokens": 5120, "token_count": 7, "idempotency_key": "ab12", "group_key": "{}:x", "apiKey": "zz"}
    clean = DEFAULT(data)
    assert clean["password"] == clean["client_secret"] == clean["access_token"] == clean["apiKey"] == REDACTED
    assert (clean["tokens"], clean["token_count"], clean["idempotency_key"]) == (5120, 7, "ab12")
    assert secret_key("webhookToken") and not secret_key("max_tokens")


LEAKY = {"description": "call with Authorization: Bearer sk-live-abcdefghijklmnop1234 and "
                        f"aws_secret_access_key={AWS_SECRET}"}


def leaky_payload() -> AlertmanagerPayload:
    body = sample_payload()
    body["alerts"][0]["annotations"].update(LEAKY)
    return AlertmanagerPayload.model_validate(body)


def test_get_incident_shows_no_secret(settings, store, audit) -> None:
    now = datetime.now(UTC)
    incident = store.record_notification(leaky_payload(), now, now).incident
    from agent.server import create_app

    with ServerThread(create_app(settings, store, audit)) as srv:
        body = httpx.get(f"{srv.url}/incidents/{incident.id}").text
    assert "sk-live-abcdefghijklmnop1234" not in body and AWS_SECRET not in body and REDACTED in body


async def test_the_llm_sees_no_secret_in_its_brief_or_tool_answers() -> None:
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import StructuredTool

    from agent.reasoning.llm import LLMReasoner
    from tests.reasoning.helpers import situation
    from tests.reasoning.test_llm import OFFLINE, VERDICT, ScriptedChatModel, call, submit

    def logs(query: str) -> str:
        """Search logs."""
        return f"ERROR connecting with password=hunter2-prod key {AWS_SECRET}"

    model = ScriptedChatModel(responses=[call("logs", {"query": "x"}, "c1"), submit(VERDICT)])
    seen = situation({"alertname": "X", "service": "summarizer", "namespace": "prod", **LEAKY})
    await LLMReasoner(model, "fake", [StructuredTool.from_function(logs)], redact=DEFAULT.text).reason(seen, OFFLINE)
    shown = " ".join(str(m.content) for m in model.seen[-1])
    assert "sk-live-abcdefghijklmnop1234" not in shown and AWS_SECRET not in shown and "hunter2-prod" not in shown
    assert any(isinstance(m, ToolMessage) and REDACTED in str(m.content) for m in model.seen[-1])


async def test_slack_messages_show_no_secret(settings, store, audit) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from agent.slack.poster import Poster
    from tests.slack.slack_api import SlackApiServer

    with SlackApiServer() as api:
        poster = Poster(AsyncWebClient(token="xoxb-test", base_url=api.api_url), interval_s=0,
                        redactor=audit.redactor)
        text = f"escalated: {LEAKY['description']}"
        await poster.post("C1", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}], text)
        posted = str([c.params for c in api.calls("chat.postMessage")])
    assert "sk-live-abcdefghijklmnop1234" not in posted and AWS_SECRET not in posted and REDACTED in posted
