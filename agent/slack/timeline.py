"""An incident as Slack shows it, read back from the store and the audit trail.

The audit trail is the source of truth for what happened (every node appends to it), so the Slack message
can be rebuilt by any process — the server that got a click, the worker that ran a node — after a restart too.
Records whose shape a newer node changed are read leniently: unknown keys are dropped, unreadable records skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.models import ActionResult, Approval, AuditRecord, Decision, Diagnosis, Proposal
from agent.slack.messages import EvidenceLine, IncidentView
from agent.store import Store

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


@dataclass
class Timeline:
    """What the audit trail says about one incident, with the seq of the records that matter."""

    evidence: list[EvidenceLine] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    proposal: Proposal | None = None
    proposal_seq: int = 0
    decision: Decision | None = None
    decided_at: datetime | None = None
    approvals: list[Approval] = field(default_factory=list)
    refused: str = ""
    """Why the graph refused the approval round (expired, or the target changed since the preview)."""
    verdicts: list[AuditRecord] = field(default_factory=list)
    """Approval records the graph wrote, with its verdict on each click."""
    replies: list[AuditRecord] = field(default_factory=list)
    """Records that become thread replies: action, verification, and the final outcome message."""
    outcome: str = ""


def lenient(model: type[M], data: Any) -> M | None:
    if not isinstance(data, dict):
        return None
    known = {k: v for k, v in data.items() if k in model.model_fields or k == "from"}
    try:
        return model.model_validate(known)
    except ValidationError as exc:
        log.debug("skipping an audit record that is not a %s: %s", model.__name__, exc)
        return None


def read_timeline(records: list[AuditRecord]) -> Timeline:
    t = Timeline()
    for r in records:
        d = r.data
        if r.kind == "tool_call":
            t.evidence.append(EvidenceLine(str(d.get("tool", "")), str(d.get("status", "")),
                                           str(d.get("query", "")), str(d.get("summary", "") or ""),
                                           str(d.get("error", "") or "")))
        elif r.kind == "diagnosis":
            t.diagnosis = lenient(Diagnosis, d) or t.diagnosis
        elif r.kind == "proposal":
            proposal = lenient(Proposal, d) if d.get("action") else None
            if proposal is not None:  # a new proposal starts a new approval round
                t.proposal, t.proposal_seq, t.decision, t.approvals = proposal, r.seq, None, []
                t.refused, t.verdicts = "", []
        elif r.kind == "decision":
            t.decision = lenient(Decision, d) or t.decision
            t.decided_at = r.at
            if t.proposal is not None:  # the decide node previews the proposal and names its target
                update: dict[str, Any] = {}
                if isinstance(d.get("target"), str) and d["target"]:
                    update["target"] = d["target"]
                if isinstance(d.get("preview"), str) and d["preview"] and not t.proposal.preview:
                    update["preview"] = {"summary": d["preview"]}
                t.proposal = t.proposal.model_copy(update=update)
        elif r.kind == "approval":
            approval = lenient(Approval, d)
            verdict = d.get("verdict", "counted")
            if "verdict" in d and d.get("via") != "slack":
                t.verdicts.append(r)
            if approval is not None and verdict in ("counted", "rejected"):
                t.approvals.append(approval)
            elif verdict == "expired" or d.get("event") == "refused":
                t.refused = str(d.get("reason", "")) or "refused"
        elif r.kind in ("action", "verification"):
            t.replies.append(r)
        elif r.kind == "message" and d.get("outcome"):
            t.outcome = str(d["outcome"])
            t.replies.append(r)
    return t


def load_view(store: Store, incident_id: str, *, token: str = "", closed: str = "") -> tuple[IncidentView, Timeline]:
    incident = store.get_incident(incident_id)
    t = read_timeline(store.audit_records(incident_id))
    result = None
    for r in reversed(t.replies):
        if r.kind == "action":
            result = lenient(ActionResult, r.data)
            break
    view = IncidentView(
        incident=incident, evidence=t.evidence, diagnosis=t.diagnosis, proposal=t.proposal, decision=t.decision,
        approvals=t.approvals, result=result, outcome=t.outcome, token=token, closed=closed,
    )
    return view, t
