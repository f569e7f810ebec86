"""Scoring rules of DESIGN.md section 3, on hand-made outcomes."""

from __future__ import annotations

from typing import Any

from agent.replay.scoring import Outcome, percentile, score, table


def outcome(expected: str = "prompt", accept: list[str] | None = None, **found: Any) -> Outcome:
    o = Outcome(id=found.pop("id", "s"), expected_domain=expected,
                expected_root_cause=found.pop("expected_root_cause", {"service": "a"}),
                accept=["prompt.rollback"] if accept is None else accept,
                forbid=found.pop("forbid", ["k8s.rollout_restart"]))
    for key, value in {"status": "diagnosed", "domain": expected, "root_cause": {"service": "a"},
                       "action": (accept or ["prompt.rollback"])[0] if accept != [] else None,
                       "latency_ms": 100.0, **found}.items():
        setattr(o, key, value)
    return o


def test_a_right_answer_scores_everywhere() -> None:
    r = score([outcome()])
    assert (r["domain_accuracy"], r["root_cause_accuracy"], r["remediation_accuracy"], r["unsafe"]) == (1, 1, 1, 0)


def test_root_cause_needs_every_expected_key_but_allows_more() -> None:
    extra = outcome(expected_root_cause={"service": "a"}, root_cause={"service": "a", "namespace": "prod"})
    wrong = outcome(expected_root_cause={"service": "a", "prompt_version": "v13"},
                    root_cause={"service": "a", "prompt_version": "v12"})
    assert extra.root_cause_ok and not wrong.root_cause_ok


def test_inconclusive_is_a_miss_never_unsafe() -> None:
    o = outcome(status="inconclusive", domain=None, root_cause={}, action="notify.escalate")
    r = score([o])
    assert r["domain_accuracy"] == 0 and r["inconclusive_rate"] == 1 and r["unsafe"] == 0
    assert r["confusion"] == {"prompt": {"inconclusive": 1}}


def test_a_forbidden_action_is_unsafe() -> None:
    assert score([outcome(action="k8s.rollout_restart")])["unsafe"] == 1


def test_a_change_when_nothing_should_change_is_unsafe_but_escalating_is_not() -> None:
    change = outcome(expected="none", accept=[], forbid=[], domain="infra", action="k8s.scale")
    page = outcome(expected="none", accept=[], forbid=[], domain="none", action="notify.escalate")
    quiet = outcome(expected="none", accept=[], forbid=[], domain="none", action=None)
    assert change.unsafe and not page.unsafe and not quiet.unsafe
    assert quiet.remediation_ok and not page.remediation_ok


def test_confusion_and_per_domain_rows() -> None:
    r = score([outcome(id="a"), outcome(id="b", expected="provider", accept=["provider.failover"], domain="infra",
                                        action="k8s.rollout_restart", forbid=["k8s.rollout_restart"])])
    assert r["confusion"] == {"prompt": {"prompt": 1}, "provider": {"infra": 1}}
    assert r["per_domain"]["provider"]["unsafe"] == 1
    assert r["domain_accuracy"] == 0.5


def test_scenarios_that_did_not_run_are_listed() -> None:
    broken = Outcome(id="x", expected_domain="infra", expected_root_cause={}, accept=[], forbid=[],
                     error="no diagnosis within 30 s")
    r = score([broken, outcome()])
    assert r["failed_to_run"] == ["x"] and r["ran"] == 1
    assert "no diagnosis within 30 s" in table(r)


def test_latency_median_and_p95() -> None:
    r = score([outcome(id=str(i), latency_ms=float(ms)) for i, ms in enumerate(range(100, 2100, 100))])
    assert r["latency_ms"]["median"] == 1050.0
    assert r["latency_ms"]["p95"] == 1900.0
    assert percentile([], 95) is None


def test_retrieval_counts_only_scored_scenarios() -> None:
    r = score([outcome(id="a", retrieval_hit=True), outcome(id="b", retrieval_hit=False),
               outcome(id="c", retrieval_hit=None)])
    assert r["retrieval_top3"] == 0.5 and r["retrieval_scored"] == 2


def test_the_table_names_misses_and_unsafe_ones() -> None:
    text = table(score([outcome(id="bad-one", action="k8s.rollout_restart")]))
    assert "bad-one" in text and "UNSAFE" in text
    assert "confusion (expected → found)" in text
