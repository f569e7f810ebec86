"""Provider status pages on localhost: `/<provider>/api/v2/summary.json` in Statuspage v2 form.

    with StatuspageServer({"openai": {"status": {"indicator": "major", "description": "Outage"}}}) as pages:
        settings.provider_status_urls = {"openai": pages.base_url("openai")}

A provider given no page is served as all operational. `set_mode(provider, mode)` makes a provider's page
fail the way real ones do: `"500"` (server error), `"hang"` (accepts and never answers), `"malformed"`
(invalid JSON), `"ok"` (back to normal). Every request is counted in `hits`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

Mode = Literal["ok", "500", "hang", "malformed"]
OPERATIONAL: dict[str, Any] = {"status": {"indicator": "none", "description": "All Systems Operational"},
                               "incidents": [], "components": []}
HANG_S = 30.0


def summary(provider: str, page: Mapping[str, Any]) -> dict[str, Any]:
    """A full Statuspage v2 summary from a scenario's subset (status, incidents, components)."""
    return {"page": {"id": provider, "name": provider, "url": f"https://status.{provider}.example",
                     "updated_at": "1970-01-01T00:00:00Z"},
            "status": dict(page.get("status") or OPERATIONAL["status"]),
            "components": list(page.get("components") or []), "incidents": list(page.get("incidents") or []),
            "scheduled_maintenances": list(page.get("scheduled_maintenances") or [])}


class StatuspageServer:
    """A real HTTP server on a free 127.0.0.1 port serving one Statuspage summary per provider."""

    def __init__(self, pages: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.pages = {name: dict(page) for name, page in (pages or {}).items()}
        self.modes: dict[str, Mode] = {}
        self.hits: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("StatuspageServer is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def base_url(self, provider: str) -> str:
        """The Statuspage base URL of `provider` (what `provider_status_urls` holds)."""
        return f"{self.url}/{provider}"

    def urls(self) -> dict[str, str]:
        """`provider_status_urls` for every provider given a page."""
        return {name: self.base_url(name) for name in self.pages}

    def set_mode(self, provider: str, mode: Mode) -> None:
        self.modes[provider] = mode

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("StatuspageServer is already started")
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                owner._answer(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._closing.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="statuspage", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases hanging requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = request.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["api", "v2", "summary.json"]:
            self._send(request, 404, b'{"error": "not found"}')
            return
        provider = parts[0]
        self.hits[provider] += 1
        mode = self.modes.get(provider, "ok")
        if mode == "hang":
            deadline = time.monotonic() + HANG_S
            while not self._closing.wait(0.05) and time.monotonic() < deadline:
                pass
            return
        if mode == "500":
            self._send(request, 500, b"<html>Internal Server Error</html>", "text/html")
        elif mode == "malformed":
            self._send(request, 200, b'{"page": {"id": "x"}, "status": {"indicator": ')
        else:
            self._send(request, 200, json.dumps(summary(provider, self.pages.get(provider, OPERATIONAL))).encode())

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, code: int, body: bytes, kind: str = "application/json") -> None:
        try:
            request.send_response(code)
            request.send_header("Content-Type", kind)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass  # the client gave up
