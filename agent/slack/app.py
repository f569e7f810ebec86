"""The Slack app: building it, and serving it in HTTP mode or Socket Mode.

    slack = build_slack(settings, store, audit)          # None (and one log line) when Slack is off
    routes = slack_routes(slack)                         # HTTP mode: POST /slack/events on the webhook server
    handler = socket_mode_handler(slack)                 # Socket Mode: `await handler.start_async()`
    slack.wire(clients)                                  # Clients.notifier (+ approver groups, bot id)
    async with running(slack): ...                       # the notifier's watch loop (+ Socket Mode), and
                                                         # audit checkpoints copied to slack_audit_channel

Slack is on when a bot token is set together with a signing secret (HTTP mode) or an app token (Socket Mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.audit import AuditLog
from agent.audit_seal import Checkpoint, Seal
from agent.errors import ConfigError
from agent.settings import Settings
from agent.slack.desk import ApprovalDesk, TargetReader
from agent.slack.gate import RequestGate
from agent.slack.messages import notice_blocks
from agent.slack.notifier import Notifier
from agent.slack.poster import Poster
from agent.store import Store

log = logging.getLogger(__name__)


@dataclass
class OffNotice:
    """Whether this process has said that Slack is off (it says so once)."""

    said: bool = False


OFF_NOTICE = OffNotice()


@dataclass
class SlackDeps:
    """What the listeners use; built once by `build_slack`."""

    settings: Settings
    store: Store
    audit: AuditLog
    clock: Callable[[], datetime]
    client: AsyncWebClient
    poster: Poster
    notifier: Notifier
    desk: ApprovalDesk
    approvers: list[str]
    """Everyone any policy rule names as an approver: who may pause and resume."""
    chat_model: Any = None
    runbooks: Any = None


@dataclass
class Slack:
    app: AsyncApp
    deps: SlackDeps

    @property
    def notifier(self) -> Notifier:
        return self.deps.notifier

    def wire(self, clients: Any) -> None:
        """Hook Slack into the graph's clients: the notifier, and the user groups and bot id the desk resolved
        (the approve node counts a group member, and never the bot, with the same facts as the buttons)."""
        clients.notifier = self.deps.notifier
        clients.approver_groups = self.deps.desk.group_members
        clients.bot_ids = self.deps.desk.bot_ids


def slack_enabled(settings: Settings) -> bool:
    return settings.slack_bot_token is not None and (
        settings.slack_signing_secret is not None or settings.slack_app_token is not None)


def build_slack(
    settings: Settings, store: Store, audit: AuditLog, *, clock: Callable[[], datetime] | None = None,
    prometheus: Any = None, chat_model: Any = None, runbooks: Any = None, read_target: TargetReader | None = None,
    approvers: list[str] | None = None, client: AsyncWebClient | None = None, post_interval_s: float = 1.0,
) -> Slack | None:
    """The Slack app with its listeners, or None when Slack is not configured (said once in the log)."""
    if not slack_enabled(settings):
        if not OFF_NOTICE.said:
            log.info("Slack is off: set slack_bot_token and slack_signing_secret (HTTP) or slack_app_token "
                     "(Socket Mode) to turn it on")
            OFF_NOTICE.said = True
        return None
    if not settings.slack_channel and not settings.slack_routes:
        raise ConfigError("Slack is on but no channel is set: set slack_channel (or slack_routes)")
    assert settings.slack_bot_token is not None
    clock = clock or (lambda: datetime.now(UTC))
    client = client or AsyncWebClient(token=settings.slack_bot_token.get_secret_value(),
                                      base_url=settings.slack_api_url)
    poster = Poster(client, interval_s=post_interval_s, redactor=audit.redactor)
    notifier = Notifier(poster, store, channel=settings.slack_channel, routes=settings.slack_routes,
                        prometheus=prometheus)
    deps = SlackDeps(
        settings=settings, store=store, audit=audit, clock=clock, client=client, poster=poster, notifier=notifier,
        desk=ApprovalDesk(store, audit, client, clock, read_target=read_target),
        approvers=approvers if approvers is not None else _policy_approvers(settings),
        chat_model=chat_model, runbooks=runbooks,
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(client=client, signing_secret=secret, request_verification_enabled=secret is not None,
                   logger=logging.getLogger("agent.slack.bolt"))
    register_listeners(app, deps)
    return Slack(app, deps)


def register_listeners(app: AsyncApp, deps: SlackDeps) -> None:
    from agent.slack import actions, commands, events

    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)


def slack_routes(slack: Slack | None) -> list[Route]:
    """HTTP mode: `POST /slack/events` (commands, interactivity and events all use this one request URL)."""
    if slack is None:
        return []
    secret = slack.deps.settings.slack_signing_secret
    if secret is None:
        return []
    gate = RequestGate(secret.get_secret_value(), slack.deps.audit, slack.deps.clock)
    handler = AsyncSlackRequestHandler(slack.app)

    async def events(request: Request) -> Response:
        body = await request.body()
        problem = gate.problem(request.headers, body)
        if problem:
            await gate.refuse(problem, request.client.host if request.client else "unknown")
            return JSONResponse({"error": problem}, status_code=401)
        return await handler.handle(request)

    return [Route("/slack/events", events, methods=["POST"])]


def socket_mode_handler(slack: Slack) -> AsyncSocketModeHandler:
    """Socket Mode: Slack connects over a websocket opened with the app token; no public URL needed."""
    token = slack.deps.settings.slack_app_token
    if token is None:
        raise ConfigError("Socket Mode needs slack_app_token (xapp-...)")
    return AsyncSocketModeHandler(slack.app, token.get_secret_value())


@contextlib.asynccontextmanager
async def running(slack: Slack | None) -> AsyncIterator[None]:
    """For the server's lifespan: the notifier's watch loop, and Socket Mode when an app token is set."""
    if slack is None:
        yield
        return
    since = (await asyncio.to_thread(slack.deps.store.audit_head))[0]
    watcher = asyncio.create_task(slack.notifier.run(since), name="opsmedic-slack-notifier")
    copying = copy_checkpoints(slack, asyncio.get_running_loop())
    socket = socket_mode_handler(slack) if slack.deps.settings.slack_app_token is not None else None
    if socket is not None:
        await socket.connect_async()
        log.info("Slack: Socket Mode connected")
    try:
        yield
    finally:
        if copying is not None:
            await asyncio.to_thread(slack.deps.audit.checkpoint)  # the head at shutdown, while Slack is still up
            copying.on_checkpoint = None
        slack.notifier.stop()
        await watcher
        await slack.notifier.drain()
        if socket is not None:
            await socket.close_async()


def copy_checkpoints(slack: Slack, loop: asyncio.AbstractEventLoop) -> Seal | None:
    """Post every audit checkpoint to `slack_audit_channel` too, where people see it and the bot's host cannot
    quietly rewrite it. Checkpoints are written by whichever thread appends the record, so the post is handed
    to the loop. Returns the seal when copying is on (a channel is set and the audit log is sealed)."""
    channel, seal = slack.deps.settings.slack_audit_channel, slack.deps.audit.seal
    if not channel or seal is None:
        return None
    poster = slack.deps.poster

    async def post(point: Checkpoint) -> None:
        text = f"audit checkpoint: record {point.seq} hash {point.hash} at {point.at} mac {point.mac}"
        try:
            await poster.post(channel, notice_blocks(f":lock: `{text}`"), text)
        except SlackApiError as exc:
            log.error("Slack: could not post audit checkpoint %d to %s: %s", point.seq, channel, exc)

    def hand_to_loop(point: Checkpoint) -> None:
        loop.call_soon_threadsafe(slack.notifier.later, post(point))

    seal.on_checkpoint = hand_to_loop
    return seal


def _policy_approvers(settings: Settings) -> list[str]:
    from agent.policy import load_policies

    try:
        policy = load_policies(settings.policies_dir)
    except ConfigError as exc:
        log.warning("Slack: cannot read the policies for pause/resume approvers: %s", exc)
        return []
    return list(dict.fromkeys(a for rule in policy.rules for a in rule.approvers))
