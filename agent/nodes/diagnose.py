"""Weigh the evidence: the offline reasoner always; the LLM reasoner on top when one is configured."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import ChangeEvent
from agent.nodes import audited
from agent.reasoning.findings import Situation
from agent.reasoning.llm import LLMReasoner
from agent.reasoning.offline import OfflineReasoner
from agent.reasoning.proposal import remediations_of
from agent.reasoning.rules.changes import SLACK, WINDOW
from agent.reasoning.toolbox import build_toolbox
from agent.state import State


def change_timeline(situation_onset: Any, ctx: Context) -> list[ChangeEvent]:
    """Change events from the store that may explain an onset: from WINDOW before it to the instant."""
    return ctx.store.changes_between(situation_onset - WINDOW, ctx.instant + SLACK)


@audited("diagnose")
async def diagnose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    assert state.incident is not None
    bare = Situation(state.incident, state.evidence, [], ctx.instant)
    changes = await asyncio.to_thread(change_timeline, bare.onset, ctx)
    situation = Situation(state.incident, state.evidence, changes, ctx.instant)
    reasoning = await asyncio.to_thread(OfflineReasoner(ctx.clients.runbooks).reason, situation)
    diagnosis, actor = reasoning.diagnosis, "system"
    remedy: dict[str, Any] = {
        "facts": reasoning.facts,
        "remediations": [{"action": a, "params": p} for a, p in remediations_of(reasoning.runbook)]
        if reasoning.runbook is not None else [],
    }
    model = ctx.clients.chat_model
    if model is not None:
        llm = LLMReasoner(model, ctx.settings.llm or type(model).__name__, build_toolbox(ctx),
                          max_steps=ctx.settings.llm_max_steps)
        outcome = await llm.reason(situation, reasoning.diagnosis)
        for call in outcome.transcript:
            ctx.audit.append(ctx.incident_id, "tool_call", llm.actor, call)
        diagnosis = outcome.diagnosis
        if not outcome.fell_back:
            actor = llm.actor
            remedy["llm_action"] = outcome.action
    ctx.audit.append(ctx.incident_id, "diagnosis", actor, diagnosis.model_dump(mode="json"))
    return {"diagnosis": diagnosis, "remedy": remedy}
