"""Who is calling: personal HTTP credentials and the shared tokens of the webhook and `/changes`.

Identity always comes from a credential, never from a request body. A personal credential is a random token
whose sha256 is listed in the `api_tokens` setting with the person it belongs to — the same Slack user id (or
user-group member) the policies name as approvers — so the store and the settings never hold the token itself.
The webhook's token only admits deliveries: it is never an approval credential.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

SIGNATURE_HEADER = "x-opsmedic-signature-256"
"""`sha256=<hex HMAC-SHA256 of the raw body>` under `changes_hmac_secret`, as GitHub signs its webhooks."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh personal token (256 bits, URL-safe)."""
    return "opsm_" + secrets.token_urlsafe(32)


def bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header, '' when there is none."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def person_for(token: str, api_tokens: Mapping[str, str]) -> str | None:
    """The person a personal token belongs to, or None. Every entry is compared, in constant time each."""
    if not token:
        return None
    digest = token_hash(token).encode()
    found = None
    for known, person in api_tokens.items():
        if hmac.compare_digest(digest, known.lower().encode()):
            found = person
    return found


def same_secret(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """Whether `header` is `sha256=` and the HMAC-SHA256 of `body` under `secret`."""
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.lower().encode(), expected.encode())
