"""A local HTTP server that speaks the Slack Web API, for tests.

It answers the methods opsmedic calls the way Slack does (``{"ok": true, ...}`` or ``{"ok": false, "error":
...}``), checks the bot token, enforces Block Kit's size limits on messages, records every call, and can be told
to answer ``429 Too Many Requests`` with a ``Retry-After`` header. ``response_url`` posts (bolt's ``respond``)
land on ``/respond/<id>`` and are recorded too.

    with SlackApiServer(token="xoxb-test") as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        ...
        slack.calls("chat.postMessage")
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_BUTTON_VALUE = 2000
MAX_MESSAGE_TEXT = 40000


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rate_limits: dict[str, list[int]] = field(default_factory=dict)
    next_ts: int = 0
    next_file: int = 0


def block_problems(blocks: Any) -> list[str]:
    """What Slack would refuse in a list of blocks (the subset of Block Kit's rules opsmedic can break)."""
    if blocks is None:
        return []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        text = block.get("text")
        if block.get("type") == "section":
            if text is None and not block.get("fields"):
                problems.append(f"block {i}: section without text or fields")
            if text is not None and not 1 <= len(text.get("text", "")) <= MAX_SECTION_TEXT:
                problems.append(f"block {i}: section text of {len(text.get('text', ''))} chars")
            for f in block.get("fields", []):
                if not 1 <= len(f.get("text", "")) <= 2000:
                    problems.append(f"block {i}: field of {len(f.get('text', ''))} chars")
            if len(block.get("fields", [])) > 10:
                problems.append(f"block {i}: more than 10 fields")
        if block.get("type") == "header" and not 1 <= len(text.get("text", "")) <= 150:
            problems.append(f"block {i}: header of {len(text.get('text', ''))} chars")
        if block.get("type") == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"block {i}: context with {len(elements)} elements")
            for e in elements:
                if not 1 <= len(e.get("text", "")) <= MAX_SECTION_TEXT:
                    problems.append(f"block {i}: context text of {len(e.get('text', ''))} chars")
        if block.get("type") == "actions":
            for e in block.get("elements", []):
                if len(e.get("value", "")) > MAX_BUTTON_VALUE:
                    problems.append(f"block {i}: button value too long")
                if len(e.get("text", {}).get("text", "")) > 75:
                    problems.append(f"block {i}: button text too long")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"block {i}: block_id too long")
    return problems


class SlackApiServer:
    """Start with ``with`` (or ``start()``); ``api_url`` is the base URL for slack_sdk's ``base_url``."""

    def __init__(
        self, *, token: str = "xoxb-test", bot_user: str = "UBOT", team: str = "T0001",
        usergroups: dict[str, list[str]] | None = None, users: dict[str, dict[str, Any]] | None = None,
        app_token: str = "xapp-1-test", socket_url: str = "",
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url = socket_url
        """What `apps.connections.open` hands out (a local websocket server speaking Socket Mode)."""
        self.bot_user = bot_user
        self.team = team
        self.usergroups = dict(usergroups or {})
        self.users = dict(users or {})
        self._state = _State()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> SlackApiServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="slack-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # -- what tests look at ----------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The message as it stands after every update."""
        with self._lock:
            return dict(self._state.messages[(channel, ts)])

    def uploads(self) -> dict[str, bytes]:
        with self._lock:
            return dict(self._state.uploads)

    def rate_limit(self, method: str, retry_after: int, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After: retry_after`."""
        with self._lock:
            self._state.rate_limits[method] = [retry_after] * times

    # -- the API ---------------------------------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any], status: int = 200) -> None:
        with self._lock:
            self._state.calls.append(Call(method, params, time.monotonic(), status))

    def _take_rate_limit(self, method: str) -> int | None:
        with self._lock:
            pending = self._state.rate_limits.get(method)
            return pending.pop(0) if pending else None

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(params)
        return result

    def _ts(self) -> str:
        with self._lock:
            self._state.next_ts += 1
            return f"{1_700_000_000 + self._state.next_ts}.{self._state.next_ts:06d}"

    def _check_message(self, params: dict[str, Any]) -> str | None:
        if not params.get("channel"):
            return "channel_not_found"
        if params.get("blocks") is None and not params.get("text"):
            return "no_text"
        if len(params.get("text") or "") > MAX_MESSAGE_TEXT:
            return "msg_too_long"
        if block_problems(params.get("blocks")):
            return "invalid_blocks"
        return None

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "opsmedic",
                "team_id": self.team, "user_id": self.bot_user, "bot_id": "B0BOT", "is_enterprise_install": False}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if error := self._check_message(params):
            return {"ok": False, "error": error}
        ts = self._ts()
        message = {"ts": ts, "text": params.get("text", ""), "blocks": _blocks(params),
                   "thread_ts": params.get("thread_ts")}
        with self._lock:
            self._state.messages[(params["channel"], ts)] = message
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        if error := self._check_message(params):
            return {"ok": False, "error": error}
        key = (params["channel"], params.get("ts", ""))
        with self._lock:
            if key not in self._state.messages:
                return {"ok": False, "error": "message_not_found"}
            self._state.messages[key].update(text=params.get("text", ""), blocks=_blocks(params))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": params.get("text", "")}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if error := self._check_message(params):
            return {"ok": False, "error": error}
        return {"ok": True, "message_ts": self._ts()}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user", "")
        if user not in self.users and not user.startswith("U"):
            return {"ok": False, "error": "user_not_found"}
        info = {"id": user, "name": user.lower(), "real_name": user, "deleted": False, "is_bot": False}
        return {"ok": True, "user": {**info, **self.users.get(user, {})}}

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {"id": "V0001", **_json(params.get("view"))}}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            self._state.next_file += 1
            file_id = f"F{self._state.next_file:08d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = _json(params.get("files")) or []
        with self._lock:
            missing = [f["id"] for f in files if f["id"] not in self._state.uploads]
        if missing or not files:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"}

    def _m_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "file": {"id": params.get("file", "")}}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = _json(params.get("blocks"))
    return list(blocks) if blocks else []


def _handler_for(server: SlackApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _send(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
            raw = (json.dumps(body) if isinstance(body, dict) else body).encode()
            self.send_response(status)
            kind = "application/json" if isinstance(body, dict) else "text/plain"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path, _, query = self.path.partition("?")
            if path.startswith("/upload/"):
                file_id = path.removeprefix("/upload/")
                with server._lock:
                    server._state.uploads[file_id] = raw
                server._record("upload", {"file_id": file_id, "bytes": len(raw)})
                self._send(200, f"OK - {len(raw)}")
                return
            if path.startswith("/respond/"):
                server._record("response_url", {"id": path.removeprefix("/respond/"), **json.loads(raw or b"{}")})
                self._send(200, "ok")
                return
            method = path.removeprefix("/api/")
            if "json" in (self.headers.get("Content-Type") or ""):
                params: dict[str, Any] = json.loads(raw or b"{}")
            else:
                params = dict(parse_qsl(raw.decode()))
            params = {**dict(parse_qsl(query)), **params}
            retry_after = server._take_rate_limit(method)
            if retry_after is not None:
                server._record(method, params, 429)
                self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
                return
            server._record(method, params)
            wanted = server.app_token if method == "apps.connections.open" else server.token
            if self.headers.get("Authorization") != f"Bearer {wanted}":
                self._send(200, {"ok": False, "error": "invalid_auth"})
                return
            self._send(200, server.answer(method, params))

        do_GET = do_POST

    return Handler
