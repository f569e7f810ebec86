"""Runbook signals: rendering a runbook's checks and reading their answers."""

from __future__ import annotations

from agent.reasoning.offline import OfflineReasoner
from agent.reasoning.runbook_signals import TOOL, holds, render_query
from tests.reasoning.helpers import evidence, situation
from tests.reasoning.test_offline import BOOKS

LABELS = {"alertname": "KubePodCrashLooping", "service": "embedder", "namespace": "ml"}


def test_conditions_are_one_comparison_with_a_number() -> None:
    assert holds("> 0", 3) is True and holds(">= 0.9", 0.95) is True and holds("< 0.7", 0.8) is False
    assert holds("== 1", 1.0) is True and holds("!= 0", 0) is False
    assert holds("rises sharply", 5) is None


def test_placeholders_are_filled_and_promql_braces_are_left_alone() -> None:
    q = 'increase(kube_pod_container_status_restarts_total{namespace="{namespace}",pod=~"{service}-.*"}[30m])'
    assert render_query(q, LABELS) == (
        'increase(kube_pod_container_status_restarts_total{namespace="ml",pod=~"embedder-.*"}[30m])')
    assert render_query('up{node="{node}"}', LABELS) is None  # unknown placeholder: the check is skipped


def signal(book: str, domain: str, value: float, supports: str = "> 0", before: float | None = None,
           **labels: str):  # type: ignore[no-untyped-def]
    baseline = [] if before is None else [{"metric": labels, "value": [0, str(before)]}]
    return evidence(TOOL, {"runbook": book, "domain": domain, "signal": "s", "supports_when": supports,
                           "weakens_when": "", "result": [{"metric": labels, "value": [0, str(value)]}],
                           "baseline": baseline}, eid=f"{TOOL}-{book}")


def test_a_met_runbook_signal_supports_its_domain_and_its_runbook_wins() -> None:
    s = situation(LABELS, [
        signal("pod-oom", "infra", 3, namespace="ml", pod="embedder-1"),
        evidence("kubernetes", [{"metric": {"__name__": "kube_pod_container_status_last_terminated_reason",
                                            "namespace": "ml", "pod": "embedder-1", "reason": "OOMKilled"},
                                 "value": [0, "1"]}], eid="ev-k8s"),
    ])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.domain == "infra" and d.runbook == "pod-oom"
    assert f"{TOOL}-pod-oom" in d.hypotheses[0].evidence_for


def test_an_unmet_runbook_signal_adds_nothing() -> None:
    s = situation(LABELS, [signal("provider-outage", "provider", 0.0, supports="> 0.05")])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert all(h.domain != "provider" for h in d.hypotheses)


def test_a_runbook_signal_that_already_held_at_the_baseline_adds_nothing() -> None:
    chronic = situation(LABELS, [
        signal("pod-oom", "infra", 3, before=2, namespace="ml", pod="embedder-1"),
        evidence("kubernetes", [{"metric": {"__name__": "kube_pod_container_status_last_terminated_reason",
                                            "namespace": "ml", "pod": "embedder-1", "reason": "OOMKilled"},
                                 "value": [0, "1"]}], eid="ev-k8s"),
    ])
    d = OfflineReasoner(BOOKS).reason(chronic).diagnosis
    assert f"{TOOL}-pod-oom" not in d.hypotheses[0].evidence_for


def test_a_runbook_signal_alone_does_not_raise_a_domain() -> None:
    s = situation(LABELS, [signal("provider-outage", "provider", 0.4, supports="> 0.05", provider="openai")])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert all(h.domain != "provider" for h in d.hypotheses)
