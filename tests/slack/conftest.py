"""Fixtures: the local Slack Web API, opsmedic's server (webhooks + /slack/events) under uvicorn on a free port in
the test's event loop, the worker, and requests signed as Slack signs them."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from agent.audit import AuditLog, Redactor
from agent.context import Clients
from agent.graph import build_graph
from agent.models import Decision, Diagnosis, Incident, Proposal
from agent.runner import Worker, checkpointer, thread_config
from agent.server import create_app
from agent.settings import Settings, load_settings
from agent.slack.app import Slack, build_slack, slack_routes
from agent.slack.gate import sign
from agent.slack.messages import APPROVE, REJECT
from agent.store.sqlite import SqliteStore
from tests.slack.slack_api import Call, SlackApiServer

TOKEN = "xoxb-test-token-123456"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0INCIDENTS"
ALICE, BOB, CAROL, MALLORY = "UALICE01", "UBOB0002", "UCAROL03", "UMALLORY"
ONCALL = "SONCALL01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alert_body(**labels: str) -> dict[str, Any]:
    labels = {"alertname": "LLMOutputValidationFailures", "service": "summarizer", "namespace": "prod",
              "severity": "critical", **labels}
    return {
        "version": "4", "groupKey": "{}:{alertname=\"LLMOutputValidationFailures\"}", "status": "firing",
        "receiver": "opsmedic", "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
        "alerts": [{
            "status": "firing", "labels": labels, "fingerprint": "abc123def456",
            "annotations": {"summary": "Output validation failures above 5% for summarizer"},
            "startsAt": datetime.now(UTC).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28llm_output_validation_failures_total"
                            "%5B5m%5D%29+%3E+0.05",
        }],
    }


@dataclass
class Harness:
    settings: Settings
    store: SqliteStore
    audit: AuditLog
    slack_api: SlackApiServer
    slack: Slack
    url: str
    http: httpx.AsyncClient
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- Slack's side --------------------------------------------------------------------------------------------

    def signed(self, body: bytes, *, age_s: int = 0, secret: str = SECRET) -> dict[str, str]:
        ts = str(int(time.time()) - age_s)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, body),
                "Content-Type": "application/x-www-form-urlencoded"}

    async def post_slack(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def command_body(self, text: str, user: str = ALICE) -> bytes:
        n = next(self._seq)
        return urlencode({
            "token": "legacy", "team_id": "T0001", "team_domain": "test", "channel_id": CHANNEL,
            "channel_name": "incidents", "user_id": user, "user_name": user.lower(), "command": "/opsmedic",
            "text": text, "api_app_id": "A0OPSMEDIC", "response_url": f"{self.slack_api.url}/respond/{n}",
            "trigger_id": f"trigger-{n}",
        }).encode()

    def click_body(self, token: str, user: str, *, approve: bool = True) -> bytes:
        n = next(self._seq)
        payload = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
            "api_app_id": "A0OPSMEDIC", "token": "legacy", "team": {"id": "T0001", "domain": "test"},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "1.1"},
            "channel": {"id": CHANNEL, "name": "incidents"}, "trigger_id": f"trigger-{n}",
            "response_url": f"{self.slack_api.url}/respond/{n}",
            "actions": [{"action_id": APPROVE if approve else REJECT, "block_id": f"approval:{token}",
                         "value": token, "type": "button", "action_ts": f"{time.time():.6f}"}],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def command(self, text: str, user: str = ALICE) -> Call:
        """Send `/opsmedic text` and return the answer posted to its response_url."""
        body = self.command_body(text, user)
        before = len(self.slack_api.calls("response_url"))
        started = time.monotonic()
        response = await self.post_slack(body, self.signed(body))
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3, "Slack needs the ack within 3 s"
        answer: Call = await self.wait_for(lambda: self.slack_api.calls("response_url")[before:], "a command answer")
        return answer

    async def click(self, token: str, user: str, *, approve: bool = True) -> httpx.Response:
        body = self.click_body(token, user, approve=approve)
        return await self.post_slack(body, self.signed(body))

    async def wait_for(self, probe: Any, what: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found[0] if isinstance(found, list) else found
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # -- opsmedic's side -------------------------------------------------------------------------------------

    async def run_worker(self) -> None:
        clients = Clients()
        self.slack.wire(clients)
        worker = Worker(self.settings, self.store, self.audit, clients)
        await worker.run_until_idle()
        await self.slack.notifier.drain()

    async def stage_decision(self, incident: Incident, proposal: Proposal, decision: Decision) -> None:
        """Put the incident's graph where `decide` leaves it (public LangGraph API), with the audit records
        the propose and decide nodes write, so that the next worker run waits in `approve`."""
        diagnosis = Diagnosis(status="diagnosed", domain="prompt", confidence=0.9,
                              root_cause={"service": "summarizer", "prompt_version": "v13"},
                              summary="prompt v13 breaks JSON output", runbook="prompt-regression")
        async with checkpointer(self.settings) as saver:
            graph = build_graph(saver)
            await graph.aupdate_state(thread_config(incident.id), {
                "incident_id": incident.id, "incident": incident, "diagnosis": diagnosis, "proposal": proposal,
                "decision": decision}, as_node="decide")
        self.audit.append(incident.id, "diagnosis", "system", diagnosis.model_dump(mode="json"))
        self.audit.append(incident.id, "proposal", "system", proposal.model_dump(mode="json"))
        self.audit.append(incident.id, "decision", "system", decision.model_dump(mode="json"))
        self.store.set_incident_status(incident.id, "investigating", datetime.now(UTC))

    def message(self, incident_id: str) -> dict[str, Any]:
        thread = self.slack.notifier.thread(incident_id)
        assert thread is not None, "no Slack message for the incident"
        return self.slack_api.message(thread.channel, thread.ts)


def text_of(message: dict[str, Any]) -> str:
    """All the text a reader sees in a message's blocks."""
    out = []
    for b in message.get("blocks", []):
        if "text" in b:
            out.append(b["text"]["text"])
        out += [f["text"] for f in b.get("fields", [])]
        out += [e.get("text", {}).get("text", "") if isinstance(e.get("text"), dict) else e.get("text", "")
                for e in b.get("elements", [])]
    return "\n".join(out)


@pytest.fixture
def slack_api() -> Iterator[SlackApiServer]:
    with SlackApiServer(token=TOKEN, usergroups={ONCALL: [CAROL]}) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, slack_api: SlackApiServer) -> Settings:
    return load_settings(
        env={}, data_dir=tmp_path / "data", slack_bot_token=TOKEN, slack_signing_secret=SECRET,
        slack_channel=CHANNEL, slack_api_url=slack_api.api_url,
        policies_dir=Path(__file__).resolve().parents[2] / "policies",
        slack_routes=[{"channel": "C0GPUTEAM", "namespace": "gpu"}],
    )


@pytest.fixture
async def harness(settings: Settings, slack_api: SlackApiServer) -> AsyncIterator[Harness]:
    store = SqliteStore(settings.sqlite_path, busy_timeout_s=2)
    audit = AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()))
    slack = build_slack(settings, store, audit, approvers=[ALICE, ONCALL], post_interval_s=0.02)
    assert slack is not None
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store, audit, extra_routes=slack_routes(slack)),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    slack.notifier.poll_s = 0.05
    watcher = asyncio.create_task(slack.notifier.run(store.audit_head()[0]))
    async with httpx.AsyncClient(timeout=10) as http:
        yield Harness(settings, store, audit, slack_api, slack, f"http://127.0.0.1:{port}", http)
    slack.notifier.stop()
    await watcher
    await slack.notifier.drain(timeout_s=2)
    server.should_exit = True
    await task
    store.close()
