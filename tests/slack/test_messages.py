"""Every message opsmedic builds fits Slack's Block Kit limits, whatever the diagnosis holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.models import ActionResult, Alert, Approval, Decision, Diagnosis, Hypothesis, Incident, Proposal
from agent.slack.blocks import check_limits, clip, units
from agent.slack.messages import (
    EvidenceLine,
    IncidentView,
    incident_blocks,
    incident_text,
    resolution_blocks,
    result_blocks,
    verification_blocks,
)
from tests.slack.slack_api import block_problems

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
odd = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300) | st.sampled_from([
    "*bold* _it_ ~s~ `code` ```fence``` <!channel> <@U123> &amp; <http://x|y>", "🔥" * 2000, "&" * 4000,
    "é\u0301" * 1600, "\u202e\u200b\ufeff" * 900, "```" * 1200, "x" * 10_000,
])
long_text = st.integers(min_value=0, max_value=12_000).map(lambda n: ("ab&<>🔥" * (n // 6 + 1))[:n])
labels = st.dictionaries(st.sampled_from(["service", "namespace", "severity", "alertname", "pod"]), odd, max_size=5)


@st.composite
def views(draw: st.DrawFn) -> IncidentView:
    alerts = [Alert(fingerprint=str(i), status=draw(st.sampled_from(["firing", "resolved"])), labels=draw(labels),
                    annotations={"summary": draw(odd)}, starts_at=NOW) for i in range(draw(st.integers(0, 12)))]
    incident = Incident(id="inc-" + draw(st.text("abc123", min_size=1, max_size=12)), group_key="g",
                        status=draw(st.sampled_from(["open", "awaiting_approval", "handled"])), title=draw(odd),
                        labels=draw(labels), alerts=alerts, instant=NOW, created_at=NOW, updated_at=NOW,
                        requester=draw(st.sampled_from(["", "UALICE01", "cli:bob"])))
    hypotheses = [Hypothesis(domain=draw(st.sampled_from(["infra", "model", "prompt", "provider", "none"])),
                             cause=draw(odd), score=draw(st.floats(0, 1))) for _ in range(draw(st.integers(0, 8)))]
    diagnosis = Diagnosis(status="diagnosed", domain=draw(st.sampled_from(["infra", "prompt", None])),
                          confidence=draw(st.floats(0, 1)), summary=draw(odd | long_text), hypotheses=hypotheses,
                          root_cause=draw(st.dictionaries(odd, odd, max_size=8)), runbook=draw(odd))
    evidence = [EvidenceLine(draw(odd), draw(st.sampled_from(["ok", "error", "no_data"])), draw(odd | long_text),
                             draw(long_text), draw(odd)) for _ in range(draw(st.integers(0, 60)))]
    proposal = Proposal(action=draw(odd), target=draw(odd), reason=draw(odd | long_text), runbook=draw(odd),
                        params=draw(st.dictionaries(odd, odd | long_text, max_size=6)),
                        preview=draw(st.sampled_from([{}, {"diff": "-a\n+b" * 3000}, {"before": "x" * 5000}])))
    decision = Decision(effect=draw(st.sampled_from(["allow", "require_approval", "deny"])), rule=draw(odd),
                        reason=draw(odd | long_text), approvers=draw(st.lists(odd, max_size=30)),
                        min_approvals=draw(st.integers(0, 3)), approval_ttl_s=draw(st.integers(0, 9000)))
    approvals = [Approval(approved=True, actor=draw(odd), at=NOW) for _ in range(draw(st.integers(0, 4)))]
    return IncidentView(incident=incident, evidence=evidence, diagnosis=diagnosis, proposal=proposal,
                        decision=decision, approvals=approvals, outcome=draw(odd),
                        token=draw(st.sampled_from(["", "0123456789abcdef0123"])), closed=draw(st.just("") | odd))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(views())
def test_every_incident_message_passes_the_block_kit_limits(view: IncidentView) -> None:
    blocks = incident_blocks(view)
    assert check_limits(blocks) == []
    assert block_problems(json.dumps(blocks)) == [], "the local Slack server would refuse it"
    assert 1 <= units(incident_text(view)) <= 3000


@settings(max_examples=100, deadline=None)
@given(odd | long_text, odd | long_text, odd)
def test_every_thread_reply_passes_the_block_kit_limits(detail: str, outcome: str, status: str) -> None:
    for blocks in (result_blocks(ActionResult(action=status, target=detail, status="failed", detail=detail,
                                              idempotency_key=outcome)),
                   verification_blocks({"verdict": status, "detail": detail}), resolution_blocks(outcome, status)):
        assert check_limits(blocks) == [] and block_problems(blocks) == []


def test_ten_thousand_characters_of_evidence_are_truncated_with_a_note() -> None:
    incident = Incident(id="inc-1", group_key="g", status="open", title="t", instant=NOW, created_at=NOW,
                        updated_at=NOW)
    view = IncidentView(incident=incident, evidence=[EvidenceLine("logs", "ok", "{app=\"x\"} |= \"ERROR\"",
                                                                  "E" * 10_000)])
    text = json.dumps(incident_blocks(view))
    assert "truncated: 9" in text and "more characters" in text and "E" * 500 in text and "E" * 700 not in text


def test_clipping_never_cuts_an_escape_or_an_emoji_in_half() -> None:
    assert clip("a&amp;b", 4) == "a…"
    assert units(clip("🔥" * 10, 5)) <= 5 and clip("🔥" * 10, 5).startswith("🔥🔥")
