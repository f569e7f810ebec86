"""Approval rules: the requester and the bot never count, two different people for the two-person rule,
approvals expire, only named approvers (or members of named groups) count, and a changed target is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.approvals import check_approval, enough, target_changed
from agent.models import Approval, Decision

DECIDED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TWO_PERSON = Decision(effect="require_approval", rule="two", min_approvals=2, approval_ttl_s=900)
NAMED = Decision(effect="require_approval", rule="named", approvers=["U1", "S-SRE"], min_approvals=1,
                 approval_ttl_s=900)


def approval(actor: str, approved: bool = True, minutes: int = 1) -> Approval:
    return Approval(approved=approved, actor=actor, at=DECIDED + timedelta(minutes=minutes))


def check(a: Approval, decision: Decision = TWO_PERSON, **kw: object) -> str:
    return check_approval(a, decision, requester="U-REQ", decided_at=DECIDED, now=a.at, **kw).verdict  # type: ignore[arg-type]


def test_requester_cannot_approve_own_change() -> None:
    assert check(approval("U-REQ")) == "ignored"
    assert check(approval("cli:U-REQ")) == "ignored"


def test_bot_never_counts() -> None:
    assert check(approval("system")) == "ignored"
    assert check(approval("B-OPSMEDIC"), bot_ids=["B-OPSMEDIC"]) == "ignored"


def test_two_person_rule_needs_two_different_people() -> None:
    first = approval("U1")
    assert check(first) == "counted"
    assert not enough([first], TWO_PERSON)
    assert check(approval("cli:U1", minutes=2), counted=[first]) == "ignored"
    second = approval("U2", minutes=3)
    assert check(second, counted=[first]) == "counted"
    assert enough([first, second], TWO_PERSON)


def test_expired_approval_is_refused() -> None:
    late = approval("U1", minutes=16)
    result = check_approval(late, TWO_PERSON, requester="U-REQ", decided_at=DECIDED, now=late.at)
    assert result.verdict == "expired"
    assert "window closed" in result.reason


def test_approval_just_inside_ttl_counts() -> None:
    assert check(approval("U1", minutes=15)) == "counted"


def test_only_named_approvers_count() -> None:
    assert check(approval("U9"), NAMED) == "ignored"
    assert check(approval("U1"), NAMED) == "counted"


def test_member_of_named_group_counts() -> None:
    assert check(approval("U7"), NAMED, groups={"S-SRE": ["U7", "U8"]}) == "counted"


def test_rejection_stops_the_change() -> None:
    assert check(approval("U2", approved=False)) == "rejected"


def test_unchanged_target_passes_and_changed_target_names_what_moved() -> None:
    previewed = {"generation": 7, "images": ["app:1"], "replicas": 3}
    assert target_changed(previewed, dict(previewed)) == ""
    reason = target_changed(previewed, {"generation": 8, "images": ["app:2"], "replicas": 3})
    assert "generation 7 → 8" in reason and "images" in reason and "replicas" not in reason
