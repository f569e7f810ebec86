"""Weigh the evidence: the offline reasoner always; the LLM reasoner on top when one is configured."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import ChangeEvent, Evidence
from agent.nodes import audited
from agent.reasoning.findings import Situation
from agent.reasoning.llm import LLMReasoner
from agent.reasoning.neighbours import run_neighbour_checks
from agent.reasoning.offline import OfflineReasoner
from agent.reasoning.proposal import remediations_of
from agent.reasoning.rules.changes import SLACK, WINDOW
from agent.reasoning.runbook_signals import checks_for, run_checks
from agent.reasoning.timeline import from_tool, merge
from agent.reasoning.toolbox import build_toolbox
from agent.state import State

log = logging.getLogger(__name__)

BASELINE = timedelta(hours=1)
"""Runbook signals are also run this long before the onset: only a condition that newly holds is evidence."""


def change_timeline(situation_onset: Any, ctx: Context) -> list[ChangeEvent]:
    """Change events from the store that may explain an onset: from WINDOW before it to the instant."""
    return ctx.store.changes_between(situation_onset - WINDOW, ctx.instant + SLACK)


async def runbook_checks(situation: Situation, ctx: Context) -> list[Evidence]:
    """Run the signals of the runbooks ranked first for the alert; audit each call like any tool call."""
    if ctx.clients.runbooks is None or ctx.clients.prometheus is None:
        return []
    try:
        checks = await asyncio.to_thread(checks_for, ctx.clients.runbooks, situation)
    except Exception as exc:  # the index is down: diagnose from the evidence there is
        log.warning("runbook search for signals failed: %s: %s", type(exc).__name__, exc)
        return []
    found = await run_checks(checks, ctx, situation.onset - BASELINE)
    for item in found:
        ctx.audit.append(ctx.incident_id, "tool_call", "system", {
            "tool": item.tool, "status": item.status, "query": item.query, "summary": item.summary,
            "error": item.error, "duration_ms": round(item.duration_ms, 1),
            "runbook": (item.data or {}).get("runbook", ""), "signal": (item.data or {}).get("signal", ""),
        })
    return found


@audited("diagnose")
async def diagnose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    assert state.incident is not None
    bare = Situation(state.incident, state.evidence, [], ctx.instant)
    changes = merge(from_tool(state.evidence), await asyncio.to_thread(change_timeline, bare.onset, ctx))
    checks, neighbours = await asyncio.gather(runbook_checks(bare, ctx), run_neighbour_checks(ctx, bare.namespace))
    for item in neighbours:
        ctx.audit.append(ctx.incident_id, "tool_call", "system", {
            "tool": item.tool, "status": item.status, "query": item.query, "summary": item.summary,
            "error": item.error, "duration_ms": round(item.duration_ms, 1)})
    extra = [*checks, *neighbours]
    situation = Situation(state.incident, [*state.evidence, *extra], changes, ctx.instant)
    reasoning = await asyncio.to_thread(OfflineReasoner(ctx.clients.runbooks).reason, situation)
    diagnosis, actor = reasoning.diagnosis, "system"
    remedy: dict[str, Any] = {
        "offline": reasoning.diagnosis.model_dump(mode="json"),
        "facts": reasoning.facts,
        "remediations": [{"action": a, "params": p} for a, p in remediations_of(reasoning.runbook)]
        if reasoning.runbook is not None else [],
    }
    model = ctx.clients.chat_model
    if model is not None:
        llm = LLMReasoner(model, ctx.settings.llm or type(model).__name__, build_toolbox(ctx),
                          max_steps=ctx.settings.llm_max_steps, redact=ctx.audit.redactor.text)
        outcome = await llm.reason(situation, reasoning.diagnosis)
        for call in outcome.transcript:
            ctx.audit.append(ctx.incident_id, "tool_call", llm.actor, call)
        diagnosis = outcome.diagnosis
        if not outcome.fell_back:
            actor = llm.actor
            remedy["llm_action"] = outcome.action
    ctx.audit.append(ctx.incident_id, "diagnosis", actor, diagnosis.model_dump(mode="json"))
    return {"diagnosis": diagnosis, "remedy": remedy}
