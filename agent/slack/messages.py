"""The incident message and its thread replies, as Block Kit.

One message per incident, rebuilt from an `IncidentView` every time the incident moves and updated in place:

    header      the alert's title
    alert       status, service, namespace, severity, summary
    diagnosis   domain, confidence, root cause, summary
    evidence    the top evidence, each with the query behind it (long text truncated with a note)
    runbook     the runbook used
    proposal    the action, its parameters and its preview (diff)
    decision    effect, the rule that made it, approvers, approvals so far
    buttons     Approve / Reject (value: an opaque id) — or, once decided, the outcome in their place

Execution, verification and resolution are thread replies. Every builder returns blocks within Slack's limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.models import ActionResult, Approval, Decision, Diagnosis, Incident, Proposal
from agent.slack.blocks import (
    Block,
    actions,
    button,
    check_limits,
    clip,
    code,
    context,
    divider,
    escape,
    fallback,
    fields,
    fit,
    header,
    section,
)

APPROVE = "opsmedic_approve"
REJECT = "opsmedic_reject"
MAX_EVIDENCE = 6
EVIDENCE_CHARS = 600
TRUNCATED = " … (truncated: {n} more characters; `/opsmedic show ID` has the rest)"


@dataclass(frozen=True)
class EvidenceLine:
    tool: str
    status: str
    query: str
    summary: str = ""
    error: str = ""


@dataclass(frozen=True)
class IncidentView:
    """Everything the incident message shows, gathered from the store and the audit trail."""

    incident: Incident
    evidence: list[EvidenceLine] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    proposal: Proposal | None = None
    decision: Decision | None = None
    approvals: list[Approval] = field(default_factory=list)
    result: ActionResult | None = None
    verification: dict[str, Any] = field(default_factory=dict)
    outcome: str = ""
    token: str = ""
    """The opaque id the buttons carry while an approval is pending; '' shows no buttons."""
    closed: str = ""
    """Replaces the buttons once the approval is over: who approved or rejected, expiry, staleness."""


def user(actor: str) -> str:
    """A Slack mention for Slack user ids, the actor as code otherwise."""
    return f"<@{actor}>" if actor[:1] in "UW" and actor.isalnum() else f"`{escape(actor)}`"


def incident_blocks(view: IncidentView) -> list[Block]:
    inc = view.incident
    blocks: list[Block] = [header(f"{_icon(view)} {inc.title}")]
    blocks += _alert(inc)
    blocks.append(context(f"`{escape(inc.id)}` · {escape(inc.status)} · from {escape(inc.source)}"
                          + (f" · asked by {user(inc.requester)}" if inc.requester else "")))
    if view.diagnosis is not None:
        blocks += [divider(), *_diagnosis(view.diagnosis)]
    if view.evidence:
        blocks += _evidence(view.evidence)
    if view.proposal is not None:
        blocks += [divider(), *_proposal(view.proposal)]
    if view.decision is not None:
        blocks.append(section(_decision(view.decision, view.approvals)))
    if view.token and not view.closed:
        blocks.append(actions(f"approval:{view.token}",
                              button("Approve", APPROVE, view.token, "primary"),
                              button("Reject", REJECT, view.token, "danger")))
    elif view.closed:
        blocks.append(section(view.closed))
    elif view.outcome:
        blocks.append(context(f"Outcome: {escape(view.outcome)}"))
    return fit(blocks)


def incident_text(view: IncidentView) -> str:
    inc = view.incident
    parts = [f"{escape(inc.title)} ({escape(inc.status)})"]
    if view.diagnosis is not None and view.diagnosis.domain:
        parts.append(f"diagnosis: {escape(view.diagnosis.domain)} ({view.diagnosis.confidence:.0%})")
    if view.proposal is not None:
        parts.append(f"proposed: {escape(view.proposal.action)}")
    return fallback(" — ".join(parts))


def result_blocks(result: ActionResult) -> list[Block]:
    icon = {"succeeded": ":white_check_mark:", "failed": ":x:", "reverted": ":leftwards_arrow_with_hook:",
            "escalated": ":mega:", "skipped": ":fast_forward:"}.get(result.status, ":grey_question:")
    text = (f"{icon} *Execution:* `{escape(result.action)}` on `{escape(result.target or '-')}` "
            f"*{escape(result.status)}*\n{escape(result.detail)}")
    blocks = [section(text)]
    if result.idempotency_key:
        blocks.append(context(f"idempotency key `{escape(result.idempotency_key)}`"))
    return blocks


def verification_blocks(data: dict[str, Any]) -> list[Block]:
    verdict = str(data.get("verdict", "unknown"))
    icon = {"recovered": ":white_check_mark:", "worse": ":rotating_light:", "unclear": ":grey_question:",
            "not_applicable": ":heavy_minus_sign:"}.get(verdict, ":grey_question:")
    detail = str(data.get("detail", "") or data.get("reason", ""))
    return [section(f"{icon} *Verification:* {escape(verdict)}" + (f"\n{escape(detail)}" if detail else ""))]


def resolution_blocks(outcome: str, status: str) -> list[Block]:
    icon = ":large_green_circle:" if status == "resolved" else ":large_blue_circle:"
    return [section(f"{icon} *{escape(status.capitalize() or 'Done')}:* {escape(outcome)}")]


def notice_blocks(text: str) -> list[Block]:
    """A reply of opsmedic's own words: `text` is mrkdwn already, so anything untrusted in it is escaped."""
    return [section(text)]


def escalation_blocks(reason: str) -> list[Block]:
    """The page in the incident's thread: `<!here>` is opsmedic's, the reason is untrusted text."""
    return notice_blocks(f":mega: <!here> opsmedic asks a human to look: {escape(reason)}")


def _icon(view: IncidentView) -> str:
    status = view.incident.status
    if status in ("resolved", "handled", "closed"):
        return ":white_check_mark:"
    if status == "awaiting_approval":
        return ":raised_hand:"
    return ":rotating_light:"


def _alert(inc: Incident) -> list[Block]:
    labels = inc.labels
    pairs = [(k.capitalize(), f"`{escape(labels[k])}`") for k in ("service", "namespace", "severity")
             if labels.get(k)]
    firing = len(inc.firing)
    pairs.append(("Alerts", f"{firing} firing of {len(inc.alerts)}" if inc.alerts else "started from chat"))
    pairs.append(("Since", f"<!date^{int(inc.instant.timestamp())}^{{date_short_pretty}} {{time}}|"
                           f"{inc.instant.isoformat(timespec='seconds')}>"))
    blocks = [fields(pairs)]
    summaries = [a.annotations.get("summary") or a.annotations.get("description") or a.name for a in inc.alerts]
    unique = list(dict.fromkeys(s for s in summaries if s))
    if unique:
        lines = "\n".join(f"• {escape(s)}" for s in unique[:5])
        more = f"\n_…and {len(unique) - 5} more_" if len(unique) > 5 else ""
        blocks.append(section(clip(lines, 2900, TRUNCATED) + more))
    return blocks


def _diagnosis(d: Diagnosis) -> list[Block]:
    if d.status == "inconclusive" or d.domain is None:
        head = f":grey_question: *Diagnosis: inconclusive* ({escape(d.reasoner)})"
    else:
        head = (f":mag: *Diagnosis: {escape(d.domain)}* · confidence *{d.confidence:.0%}* "
                f"({escape(d.reasoner)})")
    cause = ", ".join(f"{escape(k)}=`{escape(v)}`" for k, v in d.root_cause.items())
    text = head + (f"\n*Root cause:* {cause}" if cause else "") + (f"\n{escape(d.summary)}" if d.summary else "")
    blocks = [section(clip(text, 3000, TRUNCATED))]
    others = [h for h in d.hypotheses if h.domain != d.domain][:3]
    if others:
        blocks.append(context("Also weighed: " + ", ".join(
            f"{escape(h.domain)} {h.score:.2f} ({escape(clip(h.cause, 80))})" for h in others)))
    if d.runbook:
        blocks.append(section(f":book: *Runbook:* `{escape(d.runbook)}`"))
    return blocks


def _evidence(evidence: list[EvidenceLine]) -> list[Block]:
    ranked = sorted(evidence, key=lambda e: e.status != "ok")[:MAX_EVIDENCE]
    blocks = [section("*Top evidence*")]
    for e in ranked:
        what = e.summary or e.error or e.status
        text = (f"• *{escape(e.tool)}* ({escape(e.status)}): {clip(escape(what), EVIDENCE_CHARS, TRUNCATED)}\n"
                + code(e.query, 1200, " … (query truncated: {n} more characters)"))
        blocks.append(section(text))
    if len(evidence) > len(ranked):
        blocks.append(context(f"{len(evidence) - len(ranked)} more tool results in `/opsmedic audit ID`"))
    return blocks


def _proposal(p: Proposal) -> list[Block]:
    params = ", ".join(f"{escape(str(k))}=`{escape(str(v))}`" for k, v in p.params.items())
    text = f":hammer_and_wrench: *Proposed:* `{escape(p.action)}` on `{escape(p.target or '-')}`"
    if params:
        text += f"\n*Parameters:* {params}"
    if p.reason:
        text += f"\n{escape(p.reason)}"
    if p.runbook:
        text += f"\n:book: from runbook `{escape(p.runbook)}`"
    blocks = [section(clip(text, 3000, TRUNCATED))]
    if p.preview:
        blocks.append(section("*Preview*\n" + code(_preview_text(p.preview), 2950)))
    return blocks


def _preview_text(preview: dict[str, Any]) -> str:
    diff = preview.get("diff")
    summary = str(preview.get("summary") or "")
    if isinstance(diff, str) and diff:
        return diff
    if isinstance(diff, list) and diff:
        lines = [f"- {e.get('path', '')}: {_v(e.get('before'))}\n+ {e.get('path', '')}: {_v(e.get('after'))}"
                 if isinstance(e, dict) else str(e) for e in diff]
        return "\n".join([summary, *lines] if summary else lines)
    if summary:
        return summary
    if "before" in preview or "after" in preview:
        return (f"- {json.dumps(preview.get('before'), sort_keys=True, default=str)}\n"
                f"+ {json.dumps(preview.get('after'), sort_keys=True, default=str)}")
    return json.dumps(preview, indent=1, sort_keys=True, default=str)


def _v(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _decision(d: Decision, approvals: list[Approval]) -> str:
    effect = {"allow": ":large_green_circle: allowed", "deny": ":no_entry: denied",
              "require_approval": ":raised_hand: needs approval"}[d.effect]
    text = f"*Decision:* {effect} by rule `{escape(d.rule)}`"
    if d.reason:
        text += f"\n{escape(d.reason)}"
    if d.effect == "require_approval":
        need = max(1, d.min_approvals)
        who = ", ".join(user(a) for a in d.approvers[:20]) or "_nobody named: approve from the CLI_"
        text += f"\n*Approvers:* {who}"
        if d.approval_ttl_s:
            text += f" · expires after {d.approval_ttl_s // 60} min"
        yes = list(dict.fromkeys(a.actor for a in approvals if a.approved))
        text += f"\n*Approvals:* {len(yes)} of {need}" + (f" — {', '.join(user(a) for a in yes)}" if yes else "")
    return clip(text, 3000, TRUNCATED)


__all__ = [
    "APPROVE", "REJECT", "EvidenceLine", "IncidentView", "check_limits", "escalation_blocks", "incident_blocks",
    "incident_text",
    "notice_blocks", "resolution_blocks", "result_blocks", "user", "verification_blocks",
]
