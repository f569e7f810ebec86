"""Socket Mode: Slack's side is a local websocket server speaking the Socket Mode protocol (hello, envelopes,
acks by envelope id); the command arrives over the socket, is acked there, and answered on its response_url."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from agent.audit import AuditLog, Redactor
from agent.settings import load_settings
from agent.slack.app import build_slack, running
from agent.store.sqlite import SqliteStore
from tests.slack.conftest import ALICE, TOKEN, free_port
from tests.slack.slack_api import SlackApiServer

APP_TOKEN = "xapp-1-A0OPSMEDIC-1-abcdef0123456789"


class SocketModeServer:
    """Sends `hello`, then each queued envelope; records the acks the app sends back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/link"
        self.envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0OPSMEDIC"},
                            "debug_info": {"host": "local", "approximate_connection_time": 3600}})

        async def send() -> None:
            while True:
                await ws.send_json(await self.envelopes.get())

        sender = asyncio.create_task(send())
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        sender.cancel()
        return ws

    async def __aenter__(self) -> SocketModeServer:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_a_command_over_socket_mode_is_acked_on_the_socket_and_answered(tmp_path: Path) -> None:
    async with SocketModeServer() as socket:
        with SlackApiServer(token=TOKEN, app_token=APP_TOKEN, socket_url=socket.url) as api:
            settings = load_settings(env={}, data_dir=tmp_path, slack_bot_token=TOKEN, slack_app_token=APP_TOKEN,
                                     slack_channel="C1", slack_api_url=api.api_url)
            store = SqliteStore(settings.sqlite_path)
            slack = build_slack(settings, store, AuditLog(store, Redactor()), approvers=[], post_interval_s=0)
            assert slack is not None
            async with running(slack):
                await socket.envelopes.put({
                    "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                    "payload": {"token": "legacy", "team_id": "T0001", "channel_id": "C1", "user_id": ALICE,
                                "command": "/opsmedic", "text": "investigate summarizer", "api_app_id": "A0OPSMEDIC",
                                "response_url": f"{api.url}/respond/1", "trigger_id": "trigger-1"},
                })
                for _ in range(200):
                    if api.calls("response_url") and socket.acks:
                        break
                    await asyncio.sleep(0.02)
            assert [a["envelope_id"] for a in socket.acks] == ["env-1"]
            [answer] = api.calls("response_url")
            [incident] = store.list_incidents()
            assert incident.id in answer.params["text"] and incident.requester == ALICE
            store.close()
