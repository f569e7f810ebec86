"""`/opsmedic ...` commands and mentions, sent signed to the running app."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tests.slack.conftest import ALICE, CAROL, MALLORY, Harness

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"


async def test_help_lists_every_command(harness: Harness) -> None:
    answer = (await harness.command("help")).params
    assert answer["response_type"] == "ephemeral"
    for verb in ("incidents", "show ID", "investigate", "approve ID", "reject ID", "audit ID", "pause", "resume",
                 "runbook QUERY"):
        assert verb in answer["text"]


async def test_an_unknown_command_gets_a_short_helpful_answer(harness: Harness) -> None:
    text = (await harness.command("restart-everything now")).params["text"]
    assert text.startswith("Unknown command `restart-everything`") and "/opsmedic incidents" in text


async def test_missing_arguments_get_the_usage(harness: Harness) -> None:
    assert "Usage: `/opsmedic show ID`" in (await harness.command("show")).params["text"]


async def test_investigate_opens_an_incident_with_the_requester_and_posts_its_thread(harness: Harness) -> None:
    text = (await harness.command("investigate summarizer", user=CAROL)).params["text"]
    [incident] = harness.store.list_incidents()
    assert incident.id in text
    assert incident.requester == CAROL and incident.source == "slack" and incident.labels == {"service": "summarizer"}
    await harness.wait_for(lambda: harness.slack.notifier.thread(incident.id), "the incident's message")
    assert harness.store.queue_depth() == 1, "its investigation is queued"


async def test_incidents_lists_open_ones_and_show_shows_one(harness: Harness) -> None:
    assert "No open incidents" in (await harness.command("incidents")).params["text"]
    await harness.command("investigate checkout-llm")
    [incident] = harness.store.list_incidents()
    listed = (await harness.command("incidents")).params
    assert incident.id in json.dumps(listed["blocks"])
    shown = (await harness.command(f"show {incident.id}")).params
    assert "Investigate checkout-llm" in json.dumps(shown["blocks"])
    missing = (await harness.command("show inc-nope")).params["text"]
    assert "inc-nope" in missing and "/opsmedic incidents" in missing


async def test_audit_shows_the_trail_verified(harness: Harness) -> None:
    await harness.command("investigate summarizer")
    [incident] = harness.store.list_incidents()
    blocks = json.dumps((await harness.command(f"audit {incident.id}")).params["blocks"])
    assert "audit chain verified" in blocks and "alert" in blocks and ALICE in blocks


async def test_pause_and_resume_are_for_approvers_only(harness: Harness) -> None:
    refused = (await harness.command("pause", user=MALLORY)).params["text"]
    assert "Only approvers" in refused and harness.store.get_control("paused") is None
    paused = (await harness.command("pause", user=ALICE)).params["text"]
    assert "Paused" in paused and json.loads(harness.store.get_control("paused") or "{}")["by"] == ALICE
    resumed = (await harness.command("resume", user=CAROL)).params["text"]  # CAROL: via the on-call group
    assert "Resumed" in resumed and harness.store.get_control("paused") is None
    controls = [r.data for r in harness.audit.records("") if r.kind == "control"]
    assert controls == [{"control": "paused", "value": True}, {"control": "paused", "value": False}]


async def test_runbook_search_says_when_it_is_not_set_up(harness: Harness) -> None:
    assert "not set up" in (await harness.command("runbook gpu out of memory")).params["text"]


def _mention(harness: Harness, text: str) -> bytes:
    return json.dumps({
        "token": "legacy", "team_id": "T0001", "api_app_id": "A0OPSMEDIC", "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_mention", "user": ALICE, "text": f"<@UBOT> {text}", "ts": "1700000100.000100",
                  "channel": "C0INCIDENTS", "event_ts": "1700000100.000100"},
    }).encode()


async def _mention_reply(harness: Harness, text: str) -> dict[str, object]:
    body = _mention(harness, text)
    headers = {**harness.signed(body), "Content-Type": "application/json"}
    assert (await harness.post_slack(body, headers)).status_code == 200
    call = await harness.wait_for(lambda: [c for c in harness.slack_api.calls("chat.postMessage")
                                           if c.params.get("thread_ts") == "1700000100.000100"], "the reply")
    return call.params


async def test_a_mention_without_an_llm_gets_the_help(harness: Harness) -> None:
    reply = await _mention_reply(harness, "why is the summarizer slow?")
    assert "/opsmedic incidents" in str(reply["text"])


async def test_a_mention_is_answered_by_the_llm_when_configured(harness: Harness) -> None:
    harness.slack.deps.chat_model = GenericFakeChatModel(
        messages=iter([AIMessage("Check p95 of llm_request_duration_seconds for provider=openai.")]))
    reply = await _mention_reply(harness, "why is the summarizer slow?")
    assert "llm_request_duration_seconds" in str(reply["text"])


async def test_runbook_searches_the_runbook_index(harness: Harness, tmp_path: Path) -> None:
    if not (MODEL_DIR / "onnx" / "model.onnx").is_file():
        pytest.skip(f"the offline embedding model is missing under {MODEL_DIR}")
    from tools.runbooks import RunbookIndex, embedding_function
    from tools.runbooks.chroma import persistent_client

    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in ("prompt-output-format-broken", "infra-oom-killed", "provider-outage"):  # a few: embedding is slow
        shutil.copy(ROOT / "runbooks" / f"{name}.md", folder)
    index = RunbookIndex(persistent_client(tmp_path / "chroma"), embedding_function(MODEL_DIR), folder)
    await asyncio.to_thread(index.ensure_indexed)
    harness.slack.deps.runbooks = index
    blocks = (await harness.command("runbook prompt change broke the JSON output")).params["blocks"]
    assert "Runbooks for" in blocks[0]["text"]["text"]
    assert "`prompt-output-format-broken`" in blocks[1]["text"]["text"], "the best match comes first"
