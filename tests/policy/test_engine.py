"""The policy engine, table-tested: one row per behaviour, with the decision's effect and deciding rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.policy import Policy, PolicyRequest, evaluate, load_policies, load_policy_file
from agent.policy_models import FreezeWindow

ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

POLICY_YAML = """
freeze:
  - {start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z", reason: holidays}
rules:
  - name: escalate
    match: {actions: [notify.escalate]}
    effect: allow
  - name: protected
    match: {namespace_labels: {opsmedic.io/protected: "true"}}
    effect: deny
  - name: no-cordon
    match: {actions: [k8s.cordon]}
    effect: deny
  - name: staging-free
    match: {environments: [staging], actions: ["k8s.*"]}
    effect: allow
    limits: {max_per_hour: 2}
  - name: prod-critical-two-person
    match: {namespaces: [prod], severities: [critical], actions: [k8s.rollback, model.rollback]}
    effect: require_approval
    approvers: [U1, U2, S-SRE]
    min_approvals: 2
    approval_ttl: 15m
  - name: scale
    match: {actions: [k8s.scale], namespaces: ["prod", "team-*"]}
    effect: require_approval
    approval_ttl: 30m
    limits: {max_replicas: 10, max_replica_change: 3, max_per_hour: 3}
  - name: weekend-freeze-prompts
    match: {actions: [prompt.rollback]}
    effect: require_approval
    freeze:
      - {days: [sat, sun], from: "00:00", to: "23:59", reason: no weekend prompt changes}
  - name: chat-provider
    match: {actions: [provider.failover], services: [chat]}
    effect: allow
  - name: other-changes
    match: {actions: ["k8s.*", "traffic.*"], namespaces: [prod]}
    effect: require_approval
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    folder = tmp_path_factory.mktemp("policies")
    (folder / "team.yaml").write_text(POLICY_YAML)
    return load_policies(folder)


def req(action: str, **kw: object) -> PolicyRequest:
    base = PolicyRequest(action=action, now=MONDAY, namespace="prod", environment="production",
                         service="chat", severity="warning", target=f"prod/Deployment/{action}")
    return replace(base, **kw)  # type: ignore[arg-type]


CASES = [
    # (id, request, effect, rule)
    ("escalate-allowed", req("notify.escalate"), "allow", "escalate"),
    ("escalate-allowed-when-paused", req("notify.escalate", paused=True), "allow", "escalate"),
    ("escalate-allowed-in-global-freeze", req("notify.escalate", now=datetime(2026, 12, 25, tzinfo=UTC)),
     "allow", "escalate"),
    ("kill-switch-denies-changes", req("k8s.rollout_restart", paused=True), "deny", "kill-switch"),
    ("kill-switch-beats-allow-rule", req("provider.failover", paused=True), "deny", "kill-switch"),
    ("global-freeze-denies", req("k8s.rollout_restart", now=datetime(2026, 12, 25, 12, tzinfo=UTC)),
     "deny", "global-freeze"),
    ("global-freeze-ends-exclusive", req("k8s.rollout_restart", now=datetime(2026, 12, 27, tzinfo=UTC)),
     "require_approval", "other-changes"),
    ("protected-namespace-denied", req("k8s.rollout_restart", namespace_labels={"opsmedic.io/protected": "true"}),
     "deny", "protected"),
    ("protected-label-false-not-protected",
     req("k8s.rollout_restart", namespace_labels={"opsmedic.io/protected": "false"}),
     "require_approval", "other-changes"),
    ("deny-rule", req("k8s.cordon"), "deny", "no-cordon"),
    ("staging-allowed", req("k8s.rollout_restart", environment="staging", namespace="stg"), "allow", "staging-free"),
    ("staging-max-per-hour", req("k8s.rollout_restart", environment="staging", recent_actions=2),
     "deny", "staging-free"),
    ("staging-under-max-per-hour", req("k8s.rollout_restart", environment="staging", recent_actions=1),
     "allow", "staging-free"),
    ("two-person-rule", req("k8s.rollback", severity="critical"), "require_approval", "prod-critical-two-person"),
    ("severity-must-match", req("k8s.rollback", severity="warning"), "require_approval", "other-changes"),
    ("scale-within-limits", req("k8s.scale", params={"replicas": 5}, current_replicas=3),
     "require_approval", "scale"),
    ("scale-namespace-glob", req("k8s.scale", namespace="team-ml", params={"replicas": 5}, current_replicas=3),
     "require_approval", "scale"),
    ("scale-over-max-replicas", req("k8s.scale", params={"replicas": 11}, current_replicas=9), "deny", "scale"),
    ("scale-too-big-a-change", req("k8s.scale", params={"replicas": 8}, current_replicas=4), "deny", "scale"),
    ("scale-down-too-far", req("k8s.scale", params={"replicas": 1}, current_replicas=6), "deny", "scale"),
    ("scale-current-unknown", req("k8s.scale", params={"replicas": 4}), "deny", "scale"),
    ("scale-replicas-not-integer", req("k8s.scale", params={"replicas": "4"}, current_replicas=3), "deny", "scale"),
    ("scale-max-per-hour", req("k8s.scale", params={"replicas": 4}, current_replicas=3, recent_actions=3),
     "deny", "scale"),
    ("weekly-freeze-on-saturday", req("prompt.rollback", now=SATURDAY), "deny", "weekend-freeze-prompts"),
    ("weekly-freeze-not-on-monday", req("prompt.rollback"), "require_approval", "weekend-freeze-prompts"),
    ("service-match", req("provider.failover"), "allow", "chat-provider"),
    ("service-mismatch-no-rule", req("provider.failover", service="search"), "deny", "no-rule-matched"),
    ("namespace-mismatch-no-rule", req("k8s.delete_pod", namespace="dev"), "deny", "no-rule-matched"),
    ("unknown-action-no-rule", req("db.drop"), "deny", "no-rule-matched"),
    ("traffic-shed", req("traffic.shed"), "require_approval", "other-changes"),
]


@pytest.mark.parametrize(("request_", "effect", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision(policy: Policy, request_: PolicyRequest, effect: str, rule: str) -> None:
    decision = evaluate(policy, request_)
    assert (decision.effect, decision.rule) == (effect, rule), decision.reason


def test_same_request_same_decision(policy: Policy) -> None:
    request_ = req("k8s.scale", params={"replicas": 4}, current_replicas=3)
    assert evaluate(policy, request_) == evaluate(policy, request_)


def test_approval_decision_carries_approvers_and_ttl(policy: Policy) -> None:
    decision = evaluate(policy, req("model.rollback", severity="critical"))
    assert decision.approvers == ["U1", "U2", "S-SRE"]
    assert decision.min_approvals == 2
    assert decision.approval_ttl_s == 15 * 60


def test_limit_denial_says_which_limit(policy: Policy) -> None:
    decision = evaluate(policy, req("k8s.scale", params={"replicas": 11}, current_replicas=9))
    assert "max_replicas=10" in decision.reason


def test_freeze_denial_gives_the_reason(policy: Policy) -> None:
    assert "no weekend prompt changes" in evaluate(policy, req("prompt.rollback", now=SATURDAY)).reason


DEFAULT_CASES = [
    ("escalate", req("notify.escalate"), "allow", "escalation-always-allowed"),
    ("reads", req("read.prometheus"), "allow", "reads-allowed"),
    ("restart-needs-approval", req("k8s.rollout_restart"), "require_approval", "changes-need-approval"),
    ("failover-needs-approval", req("provider.failover"), "require_approval", "changes-need-approval"),
    ("prompt-needs-approval", req("prompt.rollback"), "require_approval", "changes-need-approval"),
    ("scale-needs-approval", req("k8s.scale", params={"replicas": 4}, current_replicas=3),
     "require_approval", "scale-needs-approval"),
    ("protected-namespace", req("model.rollback", namespace_labels={"opsmedic.io/protected": "true"}),
     "deny", "protected-namespaces-untouched"),
    ("escalate-in-protected-namespace", req("notify.escalate", namespace_labels={"opsmedic.io/protected": "true"}),
     "allow", "escalation-always-allowed"),
    ("unknown-action", req("shell.exec"), "deny", "no-rule-matched"),
]


@pytest.mark.parametrize(("request_", "effect", "rule"), [c[1:] for c in DEFAULT_CASES],
                         ids=[c[0] for c in DEFAULT_CASES])
def test_default_policy(request_: PolicyRequest, effect: str, rule: str) -> None:
    decision = evaluate(load_policies(ROOT / "policies"), request_)
    assert (decision.effect, decision.rule) == (effect, rule), decision.reason


def test_default_policy_file_is_valid() -> None:
    assert load_policy_file(ROOT / "policies" / "default.yaml").rules


def weekly(days: list[str], start: str, end: str) -> FreezeWindow:
    return FreezeWindow.model_validate({"days": days, "from": start, "to": end})


@pytest.mark.parametrize(("at", "covered"), [
    (datetime(2026, 12, 4, 21, 59, 59, tzinfo=UTC), False),  # Friday, before the window
    (datetime(2026, 12, 4, 22, 0, tzinfo=UTC), True),
    (datetime(2026, 12, 4, 23, 59, 59, tzinfo=UTC), True),
    (datetime(2026, 12, 5, 0, 0, tzinfo=UTC), True),  # Saturday morning: the Friday window crossed midnight
    (datetime(2026, 12, 5, 2, 0, 59, tzinfo=UTC), True),  # `to: 02:00` covers that minute whole
    (datetime(2026, 12, 5, 2, 1, tzinfo=UTC), False),
    (datetime(2026, 12, 5, 22, 30, tzinfo=UTC), False),  # Saturday is not a listed day
    (datetime(2026, 12, 6, 1, 0, tzinfo=UTC), False),  # nor does Saturday's night belong to Friday
])
def test_a_weekly_window_crossing_midnight_covers_exactly_its_night(at: datetime, covered: bool) -> None:
    assert weekly(["fri"], "22:00", "02:00").covers(at) is covered


@pytest.mark.parametrize(("at", "covered"), [
    (datetime(2026, 12, 4, 18, 0, tzinfo=UTC), True),
    (datetime(2026, 12, 4, 23, 59, 0, tzinfo=UTC), True),
    (datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=UTC), True),  # the day's last minute, whole
    (datetime(2026, 12, 5, 0, 0, tzinfo=UTC), False),
    (datetime(2026, 12, 4, 17, 59, 59, tzinfo=UTC), False),
])
def test_to_2359_covers_the_rest_of_the_day(at: datetime, covered: bool) -> None:
    assert weekly(["fri"], "18:00", "23:59").covers(at) is covered


def test_a_window_given_to_the_second_ends_after_that_second() -> None:
    window = weekly(["fri"], "09:00", "17:00:30")
    assert window.covers(datetime(2026, 12, 4, 17, 0, 30, 500000, tzinfo=UTC))
    assert not window.covers(datetime(2026, 12, 4, 17, 0, 31, tzinfo=UTC))
