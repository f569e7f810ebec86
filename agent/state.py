"""The graph's state: what each node reads and the keys it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.models import ActionResult, Approval, Decision, Diagnosis, Evidence, Incident, Proposal


@dataclass
class InputState:
    incident_id: str
    """The incident this thread handles (the thread id is the incident id too)."""


@dataclass
class State(InputState):
    incident: Incident | None = None
    """The incident as intake saw it: alerts, labels, instant."""
    evidence: list[Evidence] = field(default_factory=list)
    """Results of the read-only tools, in the order they were asked for."""
    diagnosis: Diagnosis | None = None
    """Which domain is at fault, the root cause, the competing hypotheses."""
    remedy: dict[str, Any] = field(default_factory=dict)
    """What `diagnose` hands to `propose`: the facts known about the root cause (for the runbook's parameter
    templates), the winning runbook's remediations, and the LLM's proposed action when an LLM reasoned."""
    proposal: Proposal | None = None
    """The first remediation to try, or None when nothing should change."""
    decision: Decision | None = None
    """What the policy engine said about the proposal."""
    approvals: list[Approval] = field(default_factory=list)
    """Approvals and rejections received while the graph waited in `approve`."""
    result: ActionResult | None = None
    """What executing the proposal did."""
    verification: str = ""
    """`recovered`, `worse` (and reverted), `unclear`, or '' when nothing ran."""
    outcome: str = ""
    """How the run ended, in a few words, for the record and for Slack."""
