"""The HTTP server (ASGI, Starlette): Alertmanager's webhook, change events, the approval API, health, metrics.

The webhook only validates, stores durably and acknowledges; the worker runs the graph. Bad input is a 4xx
with a JSON body naming the problem, never a 5xx; a store that cannot be written is a 503, so that
Alertmanager retries and nothing is lost.

Intake is bounded against hostile or broken peers:
- a body over `max_body_bytes` is a 413, one that takes longer than `body_timeout_s` to arrive a 408 (and the
  connection is closed); uvicorn caps the connections (`max_connections`) and idle keep-alives;
- bodies are bounded before validation (`agent.webhook.decode_json`: nesting, strings, integers, lone
  surrogates, numbers of alerts and labels), and times — alerts', changes', `X-Opsmedic-Instant` — must lie
  within `max_past_days` before and `max_ahead_s` after the server's clock, so the worker never gets a time it
  cannot do arithmetic on;
- refusals are audited as aggregates (`Refusals`): a flood of them costs one record a minute per peer,
  endpoint and status, carrying the count.

    POST /alertmanager            Alertmanager webhook (version 4); optional X-Opsmedic-Instant header
    POST /changes                 one change event or a list of them
    GET  /incidents               open and recent incidents
    GET  /incidents/{id}          one incident
    POST /incidents/{id}/approve  {"comment": "..."}, as the person whose token it is
    POST /incidents/{id}/reject   {"comment": "..."}, as the person whose token it is
    GET  /healthz, /readyz, /metrics

Who may call what (README, "Security model"): deliveries need `webhook_token` when it is set; `/changes` its
own `changes_token` or an HMAC signature (`changes_hmac_secret`), else the webhook token; reads either the
webhook token or a personal token; approvals only a personal token (`api_tokens`), and they are off when no
personal token is configured. The person comes from the token, never from the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from agent import metrics
from agent.audit import AuditLog
from agent.credentials import SIGNATURE_HEADER, bearer, person_for, same_secret, signature_ok
from agent.errors import InvalidRequest, NotFound, StoreUnavailable
from agent.models import Approval
from agent.runner import Worker, submit_approval
from agent.settings import Settings
from agent.store import Store
from agent.webhook import (
    MAX_ALERTS,
    AlertmanagerPayload,
    ChangePayload,
    check_time,
    decode_json,
    describe_validation,
    parse_body,
)

log = logging.getLogger(__name__)

INSTANT_HEADER = "x-opsmedic-instant"
REFUSAL_PERIOD = timedelta(minutes=1)
MAX_TALLIES = 1024


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


@dataclass
class _Tally:
    since: datetime
    count: int = 0
    reason: str = ""


class Refusals:
    """Counts refused requests, so that they are audited as aggregates rather than one record each.

    The first refusal of a (peer, endpoint, status) is audited at once; later ones are only counted until a
    minute has passed, and the first refusal after that writes one record carrying the count (what is left is
    written on shutdown). A flood of unauthenticated requests thus costs a record a minute, not thousands that
    fill the store and bury the records that matter. Past MAX_TALLIES keys, everything counted is written and
    counting starts afresh, so that many peers cannot grow the table without bound.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._tallies: dict[tuple[str, str, int], _Tally] = {}

    def count(self, peer: str, endpoint: str, status: int, reason: str) -> list[tuple[str, dict[str, Any]]]:
        """Count one refusal; the audit records (actor, data) due now."""
        now = self._clock()
        key = (peer, endpoint, status)
        tally = self._tallies.get(key)
        if tally is None:
            due = self.drain() if len(self._tallies) >= MAX_TALLIES else []
            self._tallies[key] = _Tally(since=now)
            return [*due, _refusal(key, _Tally(since=now, count=1, reason=reason))]
        tally.count += 1
        tally.reason = reason
        if now - tally.since < REFUSAL_PERIOD:
            return []
        self._tallies[key] = _Tally(since=now)
        return [_refusal(key, tally)]

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """The records of everything counted and not yet audited; counting starts afresh."""
        due = [_refusal(key, tally) for key, tally in self._tallies.items() if tally.count]
        self._tallies.clear()
        return due


def _refusal(key: tuple[str, str, int], tally: _Tally) -> tuple[str, dict[str, Any]]:
    peer, endpoint, status = key
    return f"peer:{peer}", {"endpoint": endpoint, "outcome": "rejected", "status": status, "reason": tally.reason,
                            "count": tally.count, "since": tally.since.isoformat()}


class ApprovalBody(BaseModel):
    actor: str = ""
    """Optional; when given it must be the token's own person (identity comes from the credential)."""
    comment: str = Field("", max_length=2000)


APPROVALS_OFF = ("HTTP approvals are off: no personal credential is configured. Give each approver a token "
                 "of their own with `opsmedic token new PERSON` and add the printed line to `api_tokens`; "
                 "Slack buttons and `opsmedic approve` work meanwhile")


class Api:
    """The request handlers, with their dependencies passed in."""

    def __init__(
        self, settings: Settings, store: Store, audit: AuditLog, clock: Callable[[], datetime],
        worker: Worker | None = None,
    ) -> None:
        self.worker = worker
        self.settings = settings
        self.store = store
        self.audit = audit
        self.clock = clock
        self.refusals = Refusals(clock)

    # -- helpers ----------------------------------------------------------------------------------------------

    async def _body(self, request: Request) -> bytes:
        """The body, within `body_timeout_s`: a client trickling it in would otherwise hold its connection (one
        of `max_connections`) for as long as it likes."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        try:
            return await asyncio.wait_for(_read(request, limit), self.settings.body_timeout_s)
        except TimeoutError as exc:
            raise _TooSlow from exc

    def _authorized(self, request: Request) -> bool:
        """Deliveries and reads: the webhook token when one is set (reads also take a personal token)."""
        token = self.settings.webhook_token
        if token is None:
            return True
        given = bearer(request.headers.get("authorization", ""))
        return same_secret(given, token.get_secret_value())

    def _may_read(self, request: Request) -> bool:
        given = bearer(request.headers.get("authorization", ""))
        return self._authorized(request) or person_for(given, self.settings.api_tokens) is not None

    def _changes_authorized(self, request: Request, body: bytes) -> bool:
        """`/changes`: its HMAC signature or its own token when either is configured, else the webhook's."""
        hmac_secret, token = self.settings.changes_hmac_secret, self.settings.changes_token
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if hmac_secret is not None and signature:
            return signature_ok(body, signature, hmac_secret.get_secret_value())
        if token is not None:
            return same_secret(bearer(request.headers.get("authorization", "")), token.get_secret_value())
        if hmac_secret is not None:
            return False
        return self._authorized(request)

    async def _reject(
        self, request: Request, endpoint: str, status: int, reason: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        metrics.INTAKE.labels(endpoint=endpoint, outcome=str(status)).inc()
        peer = request.client.host if request.client else "unknown"
        await self._audit_refusals(self.refusals.count(peer, endpoint, status, reason))
        return JSONResponse({"error": reason}, status_code=status, headers=headers)

    async def _audit_refusals(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        for actor, data in records:
            try:
                await asyncio.to_thread(self.audit.append, "", "alert", actor, data)
            except StoreUnavailable:
                log.warning("could not audit %d rejected %s requests (%s): store unavailable", data["count"],
                            data["endpoint"], data["reason"])

    async def flush_refusals(self) -> None:
        """Audit the refusals counted but not yet audited (on shutdown)."""
        await self._audit_refusals(self.refusals.drain())

    def _check_time(self, value: datetime, where: str, now: datetime) -> None:
        check_time(value, where, now, past=timedelta(days=self.settings.max_past_days),
                   ahead=timedelta(seconds=self.settings.max_ahead_s))

    async def _guard(
        self, request: Request, endpoint: str, authorized: Callable[[Request, bytes], bool] | None = None
    ) -> bytes | JSONResponse:
        """Size and auth checks shared by every write endpoint: the body, or the error response.

        `authorized` sees the body too (a signature covers it); by default the webhook token is checked."""
        check = authorized or (lambda req, _body: self._authorized(req))
        if authorized is None and not check(request, b""):
            return await self._reject(request, endpoint, 401, "missing or wrong bearer token")
        try:
            body = await self._body(request)
        except _TooLarge:
            return await self._reject(
                request, endpoint, 413, f"body larger than {self.settings.max_body_bytes} bytes"
            )
        except _TooSlow:
            return await self._reject(request, endpoint, 408, f"body not received within "
                                      f"{self.settings.body_timeout_s:g} s", headers={"connection": "close"})
        if authorized is not None and not check(request, body):
            return await self._reject(request, endpoint, 401, "missing or wrong token or signature")
        return body

    def _unavailable(self, endpoint: str, exc: StoreUnavailable) -> JSONResponse:
        metrics.INTAKE.labels(endpoint=endpoint, outcome="503").inc()
        metrics.ERRORS.labels(component="store").inc()
        log.warning("%s: %s", endpoint, exc)
        return JSONResponse({"error": "the store is unavailable; retry later"}, status_code=503,
                            headers={"Retry-After": "5"})

    # -- endpoints --------------------------------------------------------------------------------------------

    async def alertmanager(self, request: Request) -> Response:
        endpoint = "alertmanager"
        body = await self._guard(request, endpoint)
        if isinstance(body, Response):
            return body
        try:
            payload: AlertmanagerPayload = parse_body(body, AlertmanagerPayload)
            now = self.clock()
            instant = _instant(request.headers.get(INSTANT_HEADER), now)
            self._check_time(instant, INSTANT_HEADER, now)
            for where, when in payload.times():
                self._check_time(when, where, now)
        except InvalidRequest as exc:
            return await self._reject(request, endpoint, 400, str(exc))
        try:
            outcome = await asyncio.to_thread(self.store.record_notification, payload, instant, self.clock())
            incident = outcome.incident
            effect = "duplicate" if outcome.duplicate else "created" if outcome.created else "updated"
            await asyncio.to_thread(self.audit.append, incident.id, "alert", f"alertmanager:{payload.receiver}", {
                "effect": effect, "group_key": payload.groupKey, "status": payload.status,
                "alerts": [{"fingerprint": a.to_alert().fingerprint, "status": a.status,
                            "alertname": a.labels.get("alertname", "")} for a in payload.alerts],
                "truncated_alerts": payload.truncatedAlerts,
            })
        except StoreUnavailable as exc:
            return self._unavailable(endpoint, exc)
        metrics.INTAKE.labels(endpoint=endpoint, outcome="200").inc()
        metrics.INCIDENTS.labels(effect=effect).inc()
        if self.worker is not None and outcome.created:
            self.worker.wake()
        return JSONResponse({"incident_id": incident.id, "effect": effect, "status": incident.status})

    async def changes(self, request: Request) -> Response:
        endpoint = "changes"
        body = await self._guard(request, endpoint, self._changes_authorized)
        if isinstance(body, Response):
            return body
        try:
            items = _as_list(body)
            changes = [ChangePayload.model_validate(item).to_change() for item in items]
            now = self.clock()
            for i, change in enumerate(changes):
                self._check_time(change.at, f"{i}.at", now)
        except InvalidRequest as exc:
            return await self._reject(request, endpoint, 400, str(exc))
        except ValidationError as exc:
            return await self._reject(request, endpoint, 400, describe_validation(exc))
        try:
            ids = [await asyncio.to_thread(self.store.record_change, c) for c in changes]
        except StoreUnavailable as exc:
            return self._unavailable(endpoint, exc)
        metrics.INTAKE.labels(endpoint=endpoint, outcome="202").inc()
        return JSONResponse({"ids": ids}, status_code=202)

    async def list_incidents(self, request: Request) -> Response:
        if not self._may_read(request):
            return await self._reject(request, "incidents", 401, "missing or wrong bearer token")
        status = request.query_params.get("status")
        incidents = await asyncio.to_thread(self.store.list_incidents, status=status)
        return JSONResponse([self.audit.redactor(_summary(i)) for i in incidents])

    async def show_incident(self, request: Request) -> Response:
        if not self._may_read(request):
            return await self._reject(request, "incidents", 401, "missing or wrong bearer token")
        try:
            incident = await asyncio.to_thread(self.store.get_incident, request.path_params["incident_id"])
        except NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(self.audit.redactor(incident.model_dump(mode="json")))

    async def approve(self, request: Request) -> Response:
        return await self._answer(request, approved=True)

    async def reject(self, request: Request) -> Response:
        return await self._answer(request, approved=False)

    async def _answer(self, request: Request, *, approved: bool) -> Response:
        endpoint = "approve" if approved else "reject"
        if not self.settings.api_tokens:
            return await self._reject(request, endpoint, 403, APPROVALS_OFF)
        person = person_for(bearer(request.headers.get("authorization", "")), self.settings.api_tokens)
        if person is None:
            return await self._reject(request, endpoint, 401, "an approval needs a personal token listed in "
                                                              "api_tokens (the webhook token is not one)")
        body = await self._guard(request, endpoint, lambda _req, _body: True)
        if isinstance(body, Response):
            return body
        try:
            answer: ApprovalBody = parse_body(body or b"{}", ApprovalBody)
        except InvalidRequest as exc:
            return await self._reject(request, endpoint, 400, str(exc))
        if answer.actor and answer.actor not in (person, f"http:{person}"):
            return await self._reject(request, endpoint, 403, f"this token belongs to {person}, not "
                                                              f"{answer.actor}: the person comes from the token")
        approval = Approval(approved=approved, actor=f"http:{person}", at=self.clock(), comment=answer.comment)
        incident_id = request.path_params["incident_id"]
        try:
            job = await asyncio.to_thread(submit_approval, self.store, incident_id, approval)
            if self.worker is not None:
                self.worker.wake()
        except NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except InvalidRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except StoreUnavailable as exc:
            return self._unavailable(endpoint, exc)
        return JSONResponse({"queued": job, "incident_id": incident_id}, status_code=202)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            await asyncio.to_thread(self.store.ping)
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(self, request: Request) -> Response:
        metrics.QUEUE_DEPTH.set(await asyncio.to_thread(self.store.queue_depth))
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _read(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _instant(header: str | None, now: datetime) -> datetime:
    if not header:
        return now
    try:
        instant = datetime.fromisoformat(header.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(f"{INSTANT_HEADER}: not an RFC 3339 time: {header!r}") from exc
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _as_list(body: bytes) -> list[Any]:
    data = decode_json(body)
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidRequest("body must be a change object or a non-empty list of them")
    if len(items) > MAX_ALERTS:
        raise InvalidRequest(f"body: more than {MAX_ALERTS} changes")
    return items


def _summary(incident: Any) -> dict[str, Any]:
    return {
        "id": incident.id, "status": incident.status, "title": incident.title,
        "created_at": incident.created_at.isoformat(), "alerts": len(incident.alerts),
        "firing": len(incident.firing), "deliveries": incident.deliveries,
    }


def create_app(
    settings: Settings, store: Store, audit: AuditLog, *, worker: Worker | None = None,
    clock: Callable[[], datetime] | None = None, extra_routes: Sequence[BaseRoute] = (),
    background: contextlib.AbstractAsyncContextManager[Any] | None = None,
) -> Starlette:
    """The ASGI app. The worker, and `background` (e.g. Slack's notifier loop), run in the app's lifespan:
    started and stopped with the server."""
    api = Api(settings, store, audit, clock or (lambda: datetime.now(UTC)), worker)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(worker.run(), name="opsmedic-worker") if worker else None
        try:
            async with background or contextlib.nullcontext():
                yield
        finally:
            if worker and task:
                worker.stop()
                await task
            await api.flush_refusals()

    routes: list[BaseRoute] = [
        Route("/alertmanager", api.alertmanager, methods=["POST"]),
        Route("/changes", api.changes, methods=["POST"]),
        Route("/incidents", api.list_incidents, methods=["GET"]),
        Route("/incidents/{incident_id}", api.show_incident, methods=["GET"]),
        Route("/incidents/{incident_id}/approve", api.approve, methods=["POST"]),
        Route("/incidents/{incident_id}/reject", api.reject, methods=["POST"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        *extra_routes,
    ]
    return Starlette(routes=routes, lifespan=lifespan)
