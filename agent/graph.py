"""The incident graph: wiring only. Nodes decide; this file says what follows what.

    intake → investigate → diagnose → propose ─┬─> decide ─┬─> execute → verify → record
                                               │           ├─> approve ─┬─> execute
                                               │           │            └─> record (rejected)
                                               │           └─> record (denied)
                                               └─> record (nothing to do)
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph

from agent import models
from agent.context import Context
from agent.nodes.approve import approve
from agent.nodes.decide import decide
from agent.nodes.diagnose import diagnose
from agent.nodes.execute import execute
from agent.nodes.intake import intake
from agent.nodes.investigate import investigate
from agent.nodes.propose import propose
from agent.nodes.record import record
from agent.nodes.verify import verify
from agent.state import InputState, State

SERDE = JsonPlusSerializer(
    allowed_msgpack_modules=[
        State, models.Alert, models.Incident, models.Evidence, models.Hypothesis, models.Diagnosis,
        models.Proposal, models.Decision, models.Approval, models.ActionResult,
    ]
)


def after_propose(state: State) -> Literal["decide", "record"]:
    return "decide" if state.proposal is not None else "record"


def after_decide(state: State) -> Literal["execute", "approve", "record"]:
    assert state.decision is not None
    return {"allow": "execute", "require_approval": "approve", "deny": "record"}[state.decision.effect]  # type: ignore[return-value]


def after_approve(state: State) -> Literal["execute", "approve", "record"]:
    assert state.decision is not None
    if any(not a.approved for a in state.approvals):
        return "record"
    approvers = {a.actor for a in state.approvals if a.approved}
    return "execute" if len(approvers) >= max(1, state.decision.min_approvals) else "approve"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> Any:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("intake", intake)
    builder.add_node("investigate", investigate)
    builder.add_node("diagnose", diagnose)
    builder.add_node("propose", propose)
    builder.add_node("decide", decide)
    builder.add_node("approve", approve)
    builder.add_node("execute", execute)
    builder.add_node("verify", verify)
    builder.add_node("record", record)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "investigate")
    builder.add_edge("investigate", "diagnose")
    builder.add_edge("diagnose", "propose")
    builder.add_conditional_edges("propose", after_propose)
    builder.add_conditional_edges("decide", after_decide)
    builder.add_conditional_edges("approve", after_approve)
    builder.add_edge("execute", "verify")
    builder.add_edge("verify", "record")
    builder.add_edge("record", END)
    return builder.compile(checkpointer=checkpointer, name="opsmedic")
