"""The door for Slack's HTTP requests: signature, freshness and replay, checked before bolt sees the request.

Slack signs each request: `X-Slack-Signature: v0=HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}")` with
`X-Slack-Request-Timestamp`. A request is refused (401, and an audit record; nothing else happens) when:

- the signature is missing or does not match;
- its timestamp is more than 5 minutes away from now (replays of old captures);
- the same signed request was already accepted within those 5 minutes (a replay of a fresh capture).

The replay memory is per process; a signature older than 5 minutes is refused by its timestamp anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from agent.audit import AuditLog
from agent.errors import StoreUnavailable

log = logging.getLogger(__name__)
MAX_AGE_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` Slack would send for `body` at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class RequestGate:
    def __init__(self, signing_secret: str, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._secret = signing_secret
        self._audit = audit
        self._clock = clock
        self._seen: dict[str, float] = {}

    def problem(self, headers: Mapping[str, str], body: bytes) -> str:
        """Why the request must be refused, or '' when it may pass (and is remembered as seen)."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not signature or not timestamp:
            return "missing Slack signature headers"
        now = self._clock().timestamp()
        try:
            age = now - int(timestamp)
        except ValueError:
            return "malformed X-Slack-Request-Timestamp"
        if abs(age) > MAX_AGE_S:
            return f"request timestamp is {int(age)} s away from now (more than {MAX_AGE_S} s)"
        if not hmac.compare_digest(sign(self._secret, timestamp, body), signature):
            return "bad Slack signature"
        self._seen = {s: t for s, t in self._seen.items() if now - t <= MAX_AGE_S}
        if signature in self._seen:
            return "replayed request (this signed request was already handled)"
        self._seen[signature] = int(timestamp)
        return ""

    async def refuse(self, reason: str, peer: str) -> None:
        try:
            await asyncio.to_thread(self._audit.append, "", "message", f"peer:{peer}",
                                    {"endpoint": "slack", "outcome": "rejected", "status": 401, "reason": reason})
        except StoreUnavailable:
            log.warning("could not audit a refused Slack request (%s): store unavailable", reason)
