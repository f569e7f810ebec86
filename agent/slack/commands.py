"""`/opsmedic ...`: acknowledged at once, answered (ephemerally unless noted) right after."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from agent.errors import NotFound, OpsmedicError
from agent.slack.blocks import Block, code, context, escape, fit, section
from agent.slack.messages import incident_blocks, user
from agent.slack.timeline import load_view

if TYPE_CHECKING:
    from agent.slack.app import SlackDeps

log = logging.getLogger(__name__)
OPEN = ("open", "investigating", "awaiting_approval")

HELP = """*opsmedic* — incident response for AI in production
• `/opsmedic incidents` — open incidents
• `/opsmedic show ID` — one incident: diagnosis, evidence, proposal
• `/opsmedic investigate SERVICE|ALERTNAME` — open an incident and investigate it now
• `/opsmedic approve ID` / `/opsmedic reject ID` — answer a pending approval (same rules as the buttons)
• `/opsmedic audit ID` — the incident's audit trail, with the chain verified
• `/opsmedic pause` / `/opsmedic resume` — the kill switch (approvers only)
• `/opsmedic runbook QUERY` — search the runbooks
Mention @opsmedic with a question to ask it directly."""

Answer = tuple[list[Block], str]


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.command("/opsmedic")
    async def opsmedic(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        blocks, text = await answer(deps, command.get("text", ""), command.get("user_id", ""))
        await respond(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)


async def answer(deps: SlackDeps, text: str, user_id: str) -> Answer:
    """The reply to `/opsmedic <text>` typed by `user_id`; never raises for bad input."""
    verb, _, rest = text.strip().partition(" ")
    handler = HANDLERS.get(verb.lower())
    if handler is None:
        hint = f"Unknown command `{escape(verb)}`. " if verb else ""
        return _say(hint + HELP)
    try:
        return await handler(deps, rest.strip(), user_id)
    except NotFound as exc:
        return _say(f":grey_question: {escape(str(exc))}. `/opsmedic incidents` lists the open ones.")
    except OpsmedicError as exc:
        log.warning("/opsmedic %s by %s failed: %s", verb, user_id, exc)
        return _say(f":warning: opsmedic could not do that now: {escape(str(exc))}")


def _say(text: str) -> Answer:
    return [section(text)], text[:3000]


def _need(arg: str, usage: str) -> Answer | None:
    return None if arg else _say(f"Usage: `/opsmedic {usage}`")


async def _help(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    return _say(HELP)


async def _incidents(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    found = await asyncio.to_thread(deps.store.list_incidents, limit=100)
    live = [i for i in found if i.status in OPEN][:40]
    if not live:
        return _say(":large_green_circle: No open incidents.")
    blocks = [section(f"*{len(live)} open incident(s)*")]
    blocks += [section(f"`{escape(i.id)}` · *{escape(i.status)}* · {escape(i.title)}") for i in live]
    return fit(blocks), f"{len(live)} open incidents"


async def _show(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    if usage := _need(arg, "show ID"):
        return usage
    view, _ = await asyncio.to_thread(load_view, deps.store, arg)
    return incident_blocks(view), view.incident.title[:3000]


async def _investigate(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    if usage := _need(arg, "investigate SERVICE|ALERTNAME"):
        return usage
    target = arg.split()[0]
    labels = {"alertname": target} if target[:1].isupper() else {"service": target}
    now = deps.clock()
    incident = await asyncio.to_thread(
        deps.store.open_incident, title=f"Investigate {target} (asked in Slack)", labels=labels, instant=now,
        source="slack", requester=user_id, now=now)
    await asyncio.to_thread(deps.audit.append, incident.id, "alert", user_id,
                            {"effect": "created", "source": "slack", "labels": labels})
    deps.notifier.changed(incident.id)
    return _say(f":mag: Investigating `{escape(target)}` as incident `{incident.id}`; the thread follows.")


async def _approve(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    return await _decide(deps, arg, user_id, approved=True)


async def _reject(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    return await _decide(deps, arg, user_id, approved=False)


async def _decide(deps: SlackDeps, arg: str, user_id: str, *, approved: bool) -> Answer:
    if usage := _need(arg, f"{'approve' if approved else 'reject'} ID [comment]"):
        return usage
    incident_id, _, comment = arg.partition(" ")
    await asyncio.to_thread(deps.store.get_incident, incident_id)
    token = await asyncio.to_thread(deps.desk.token_for, incident_id)
    if not token:
        return _say(f"Incident `{escape(incident_id)}` has no proposal waiting for approval.")
    await deps.notifier.sync(incident_id)  # makes sure the round's id is known
    result = await deps.desk.answer(token, user_id, approved, comment.strip())
    if result.close:
        await deps.notifier.say_closed(token, result.close)
    else:
        deps.notifier.changed(incident_id)
    return _say(result.message)


async def _audit(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    if usage := _need(arg, "audit ID"):
        return usage
    await asyncio.to_thread(deps.store.get_incident, arg)
    verdict = await asyncio.to_thread(deps.audit.verify)
    records = await asyncio.to_thread(deps.audit.records, arg)
    head = (f":white_check_mark: audit chain verified ({verdict.records} records)" if verdict.ok
            else f":rotating_light: audit chain broken: {escape(verdict.problem)}")
    lines = [f"{r.seq:>5} {r.at:%H:%M:%S} {r.kind:<12} {r.actor[:20]:<20} "
             f"{json.dumps(r.data, sort_keys=True, default=str)[:150]}" for r in records[-40:]]
    blocks = [section(f"*Audit trail of* `{escape(arg)}` — {head}"), section(code("\n".join(lines) or "(none)"))]
    if len(records) > 40:
        blocks.append(context(f"{len(records) - 40} earlier records: `opsmedic audit show {escape(arg)}`"))
    return blocks, f"audit trail of {arg}"


async def _pause(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    return await _switch(deps, user_id, pause=True)


async def _resume(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    return await _switch(deps, user_id, pause=False)


async def _switch(deps: SlackDeps, user_id: str, *, pause: bool) -> Answer:
    verb = "pause" if pause else "resume"
    if not deps.approvers:
        return _say(f"No policy rule names approvers, so nobody may {verb} from Slack; use `opsmedic {verb}`.")
    members = set(deps.approvers)
    groups = await deps.desk.resolve_groups(deps.approvers)
    members |= {m for ms in groups.values() for m in ms}
    if user_id not in members:
        return _say(f"Only approvers may {verb} opsmedic.")
    value = json.dumps({"by": user_id, "at": deps.clock().isoformat(), "via": "slack"}) if pause else None
    await asyncio.to_thread(deps.store.set_control, "paused", value)
    await asyncio.to_thread(deps.audit.append, "", "control", user_id, {"control": "paused", "value": pause})
    if pause:
        return _say(f":octagonal_sign: Paused by {user(user_id)}: no change will execute until `/opsmedic resume`.")
    return _say(f":arrow_forward: Resumed by {user(user_id)}: approved changes execute again.")


async def _runbook(deps: SlackDeps, arg: str, user_id: str) -> Answer:
    if usage := _need(arg, "runbook QUERY"):
        return usage
    if deps.runbooks is None:
        return _say("Runbook search is not set up here (no runbook index); see `opsmedic runbooks index`.")
    hits = await asyncio.to_thread(deps.runbooks.search, arg, k=3)
    if not hits:
        return _say(f"No runbook matches “{escape(arg)}”.")
    return [section(f"*Runbooks for* “{escape(arg)}”")] + [section(_hit(h)) for h in list(hits)[:5]], "runbooks"


def _hit(hit: Any) -> str:
    runbook = getattr(hit, "runbook", hit)
    title = getattr(runbook, "title", "") or getattr(hit, "title", "")
    ident = getattr(runbook, "id", "") or getattr(hit, "id", "")
    score = getattr(hit, "score", None)
    extra = f" · score {score:.2f}" if isinstance(score, float) else ""
    return f"• `{escape(str(ident))}` {escape(str(title))}{extra}" if (title or ident) else escape(str(hit)[:500])


HANDLERS: dict[str, Callable[[SlackDeps, str, str], Awaitable[Answer]]] = {
    "help": _help, "incidents": _incidents, "show": _show, "investigate": _investigate, "approve": _approve,
    "reject": _reject, "audit": _audit, "pause": _pause, "resume": _resume, "runbook": _runbook,
}
