"""Typed values that flow through the pipeline.

Everything here is a frozen pydantic model: it crosses the store, the checkpointer and (for some) a trust
boundary, so it is validated on the way in and serialised the same way everywhere.

    Alert ─┐
           ├─> Incident ─> Evidence* ─> Hypothesis* ─> Diagnosis ─> Proposal ─> Decision ─> Approval* ─> ActionResult
    Change ┘
    (every step above also leaves an AuditRecord)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Domain = Literal["infra", "model", "prompt", "provider", "none"]
"""Where a fault lies. `none` means the evidence shows no fault."""

DiagnosisStatus = Literal["diagnosed", "inconclusive"]
ToolStatus = Literal["ok", "no_data", "error"]
Effect = Literal["allow", "require_approval", "deny"]
AuditKind = Literal[
    # the kinds of DESIGN.md section 8
    "alert", "tool_call", "diagnosis", "proposal", "decision", "approval", "action", "verification", "message",
    # opsmedic's documented extensions: a graph node ran; an operator control (pause/resume)
    "node", "control",
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Alert(Frozen):
    """One alert of an Alertmanager notification, as opsmedic keeps it."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


class ChangeEvent(Frozen):
    """Something that changed: a deploy, a model or prompt version, a config flag (DESIGN.md section 3)."""

    at: datetime
    kind: str
    service: str = ""
    namespace: str = ""
    name: str = ""
    from_: str = Field(default="", alias="from")
    to: str = ""
    actor: str = ""
    source: str = "api"
    extra: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


IncidentStatus = Literal["open", "investigating", "awaiting_approval", "handled", "resolved", "closed"]
"""`handled`: the graph finished while alerts still fire; `closed`: a new notification of the group opens a
new incident."""


class Incident(Frozen):
    """A group of alerts that opsmedic handles as one piece of work (one graph thread)."""

    id: str
    group_key: str
    status: IncidentStatus
    source: Literal["alertmanager", "slack", "change", "cli"] = "alertmanager"
    title: str
    labels: dict[str, str] = Field(default_factory=dict)
    """The notification's common labels."""
    alerts: list[Alert] = Field(default_factory=list)
    instant: datetime
    """The investigation instant: every tool looks at the world as of this moment."""
    created_at: datetime
    updated_at: datetime
    deliveries: int = 1
    truncated_alerts: int = 0
    requester: str = ""
    """Who opened the incident (a Slack user for chat-started incidents); never counts as an approver."""

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]


class Evidence(Frozen):
    """The outcome of one read-only tool call, kept so that a diagnosis can cite it."""

    id: str
    tool: str
    status: ToolStatus
    query: str
    """The exact query the tool ran (PromQL, API path, log filter), for the audit log and for humans."""
    summary: str = ""
    data: Any = None
    error: str = ""
    duration_ms: float = 0.0


class Hypothesis(Frozen):
    """One candidate explanation, scored from the evidence for and against it."""

    domain: Domain
    cause: str
    score: float
    root_cause: dict[str, str] = Field(default_factory=dict)
    evidence_for: list[str] = Field(default_factory=list)
    """Evidence ids (or short citations) that support this hypothesis."""
    evidence_against: list[str] = Field(default_factory=list)
    runbook: str = ""


class Diagnosis(Frozen):
    status: DiagnosisStatus
    domain: Domain | None = None
    """None exactly when the diagnosis is inconclusive."""
    confidence: float = 0.0
    root_cause: dict[str, str] = Field(default_factory=dict)
    """The faulty entity: keys among service, namespace, provider, model, model_version, prompt_version, node, pod."""
    summary: str = ""
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    runbook: str = ""
    reasoner: str = "offline"


class Proposal(Frozen):
    """A catalog action with its parameters, proposed for an incident."""

    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    target: str = ""
    """A stable name of what the action touches, such as `prod/Deployment/summarizer` or `service:prod/chat`."""
    reason: str = ""
    runbook: str = ""
    preview: dict[str, Any] = Field(default_factory=dict)


class Decision(Frozen):
    effect: Effect
    rule: str
    """The policy rule that decided, or a named built-in such as `kill-switch` or `no-rule-matched`."""
    reason: str = ""
    approvers: list[str] = Field(default_factory=list)
    min_approvals: int = 0
    approval_ttl_s: int = 0
    inputs: dict[str, Any] = Field(default_factory=dict)
    """What the engine was given that can move while an approval waits (kill switch, freeze windows open,
    namespace labels, environment, recent actions, replicas); execution compares it with a fresh reading."""


class Approval(Frozen):
    approved: bool
    actor: str
    """Who approved or rejected: a Slack user id, `cli:<user>`, or `http:<user>`."""
    at: datetime
    comment: str = ""


class ActionResult(Frozen):
    action: str
    target: str = ""
    status: Literal["succeeded", "failed", "skipped", "reverted", "escalated"]
    detail: str = ""
    idempotency_key: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class AuditRecord(Frozen):
    """One link of the hash chain (DESIGN.md section 8)."""

    seq: int
    at: datetime
    incident_id: str
    kind: AuditKind
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str = ""
    """HMAC-SHA256 of `hash` under the audit key (an extension of section 8, outside the hashed body); '' when
    the record was written without a key."""
