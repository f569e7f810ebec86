"""Untrusted text never becomes Slack markup: whatever alerts, logs, change events, approvers' comments or an LLM
put in a field, every message kind opsmedic posts shows it escaped, in every Block Kit part and in the `text`
fallback. Only opsmedic's own markup remains: `<!here>` in a page, user mentions, the date of the alert."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.models import (
    ActionResult,
    Alert,
    Approval,
    AuditRecord,
    Decision,
    Diagnosis,
    Hypothesis,
    Incident,
    Proposal,
)
from agent.slack.messages import (
    EvidenceLine,
    IncidentView,
    escalation_blocks,
    incident_blocks,
    incident_text,
    resolution_blocks,
    result_blocks,
    verification_blocks,
)
from agent.slack.notifier import approval_round_over, plain_text, reply_blocks
from agent.slack.timeline import Timeline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ATTACKS = ["<!channel>", "<!here>", "<!everyone>", "<https://evil.example|Approve here>", "<@U0ADMIN>",
           "<#C0SECRET>", "<!subteam^S0OPS>", "<!date^1^{date}|x>", "&lt;!channel&gt;", ">quote", "<", ">"]
untrusted = st.builds(lambda a, b, c: f"{a}{b}{c}", st.text(max_size=20), st.sampled_from(ATTACKS),
                      st.text(max_size=20))
OURS = re.compile(r"<!here>|<@[UW][A-Za-z0-9]+>|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]+>")


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn string in a Block Kit structure (plain_text is never parsed as markup)."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
    return found + [t for value in node.values() if isinstance(value, dict | list) for t in mrkdwn_texts(value)]


def assert_no_markup_from(texts: list[str], page: bool = False) -> None:
    for text in texts:
        rest = OURS.sub("", text)
        assert "<" not in rest and ">" not in rest, text
        assert "<!channel>" not in text and "<!everyone>" not in text and "<https://evil" not in text
        if not page:
            assert "<!here>" not in text, text


@st.composite
def messages(draw: st.DrawFn) -> list[tuple[list[Any], str, bool]]:
    """(blocks, fallback text, is-a-page) for every message kind, with untrusted text in every field."""
    u = lambda: draw(untrusted)  # noqa: E731
    alert = Alert(fingerprint="f", status="firing", labels={"service": u(), "namespace": u(), "severity": u()},
                  annotations={"summary": u()}, starts_at=NOW)
    incident = Incident(id="inc-1", group_key="g", status="awaiting_approval", title=u(), labels=alert.labels,
                        alerts=[alert], instant=NOW, created_at=NOW, updated_at=NOW, requester="U0REQ")
    diagnosis = Diagnosis(status="diagnosed", domain="prompt", confidence=0.8, summary=u(), runbook=u(),
                          root_cause={u(): u()}, hypotheses=[Hypothesis(domain="infra", cause=u(), score=0.3)])
    proposal = Proposal(action=u(), target=u(), reason=u(), runbook=u(), params={u(): u()},
                        preview=draw(st.sampled_from([{"summary": u()}, {"diff": [{"path": u(), "before": u(),
                                                                                   "after": u()}]}])))
    decision = Decision(effect="require_approval", rule=u(), reason=u(), approvers=["U0ALICE", u()],
                        min_approvals=1)
    approvals = [Approval(approved=True, actor="U0ALICE", at=NOW, comment=u()), Approval(approved=True,
                 actor=u(), at=NOW)]
    rejected = Timeline(decision=decision, approvals=[Approval(approved=False, actor="U0BOB", at=NOW,
                                                              comment=u())])
    refused = Timeline(decision=decision, refused=u())
    closed = approval_round_over(draw(st.sampled_from([rejected, refused])))
    view = IncidentView(incident=incident, evidence=[EvidenceLine(u(), "ok", u(), u(), u())], diagnosis=diagnosis,
                        proposal=proposal, decision=decision, approvals=approvals, outcome=u(),
                        token=draw(st.sampled_from(["", "0123456789abcdef0123"])), closed=closed)
    result = ActionResult(action=u(), target=u(), status="skipped", detail=u(), idempotency_key=u())
    replies = [reply_blocks(AuditRecord(seq=1, at=NOW, incident_id="inc-1", kind=kind, actor="system", data=data,
                                        prev_hash="", hash=""))
               for kind, data in (("action", result.model_dump(mode="json")), ("action", {"event": u()}),
                                  ("verification", {"verdict": u(), "detail": u()}),
                                  ("message", {"outcome": u(), "status": u()}))]
    built = [(incident_blocks(view), incident_text(view), False), (result_blocks(result), "", False),
             (verification_blocks({"verdict": u(), "detail": u()}), "", False),
             (resolution_blocks(u(), u()), "", False),
             (escalation_blocks(u()), "", True)]
    built += [(blocks, plain_text(blocks), False) for blocks in replies]
    page = escalation_blocks(u())
    built.append((page, plain_text(page), True))
    return built


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_untrusted_text_is_escaped_in_every_message_kind_and_fallback(built: list[tuple[list[Any], str, bool]]) -> None:
    for blocks, fallback, page in built:
        assert_no_markup_from(mrkdwn_texts(blocks) + ([fallback] if fallback else []), page=page)


def test_a_forged_change_event_cannot_ping_the_channel_from_a_page() -> None:
    [block] = escalation_blocks("change from <!channel> <https://evil.example|Approve here>")
    text = block["text"]["text"]
    assert text.count("<!here>") == 1
    assert "&lt;!channel&gt; &lt;https://evil.example|Approve here&gt;" in text
