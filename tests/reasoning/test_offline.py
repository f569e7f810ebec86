"""The offline reasoner on evidence built the way the tools return it (Prometheus vectors, status pages)."""

from __future__ import annotations

from typing import Any

from agent.reasoning.offline import OfflineReasoner
from tests.reasoning.helpers import alert_condition, change, evidence, situation

CHAT = {"alertname": "LLMLatencyHigh", "service": "chat", "namespace": "prod", "severity": "critical"}


def vec(name: str, value: float, **labels: str) -> dict[str, Any]:
    return {"metric": {"__name__": name, **labels}, "value": [1700000000, str(value)]}


class Books:
    """A tiny runbook index with the search signature of tools.runbooks (domain-tagged runbooks)."""

    def __init__(self, books: list[dict[str, Any]]) -> None:
        self.books = books
        self.queries: list[str] = []

    def search(self, query: str, alert: str | None = None, labels: Any = None, k: int = 3,
               domain: str | None = None) -> list[dict[str, Any]]:
        self.queries.append(query)
        words = set(query.lower().replace(":", " ").split())
        books = [b for b in self.books if domain is None or b["domain"] == domain]
        return sorted(books, key=lambda b: -len(words & set(b["keywords"].split())))[:k]


BOOKS = Books([
    {"id": "prompt-output-format", "domain": "prompt", "keywords": "prompt format validation json",
     "remediations": [{"action": "prompt.rollback", "params": {"namespace": "{namespace}", "service": "{service}",
                                                              "prompt": "{prompt}",
                                                              "to_version": "{prompt_version_previous}"}}]},
    {"id": "provider-outage", "domain": "provider", "keywords": "provider outage status errors",
     "remediations": [{"action": "provider.failover", "params": {"namespace": "{namespace}",
                                                                "service": "{service}"}}]},
    {"id": "node-pressure", "domain": "infra", "keywords": "node pressure memory disk",
     "remediations": [{"action": "k8s.cordon", "params": {"node": "{node}"}}]},
    {"id": "pod-oom", "domain": "infra", "keywords": "oom memory killed restarts",
     "remediations": [{"action": "k8s.scale", "params": {"namespace": "{namespace}", "kind": "Deployment",
                                                        "name": "{name}", "replicas": 4}}]},
])


def test_a_prompt_change_before_validation_failures_is_a_prompt_fault_on_the_new_version() -> None:
    s = situation(
        {"alertname": "LLMOutputValidationFailures", "service": "summarizer", "namespace": "prod"},
        [evidence("llm_signals", [vec("llm_output_validation_failures_total", 9, service="summarizer",
                                      namespace="prod", prompt_version="v13", reason="invalid_json")], eid="ev-val")],
        [change("prompt", 40, service="summarizer", namespace="prod", name="summarize", **{"from": "v12"}, to="v13")],
    )
    r = OfflineReasoner(BOOKS).reason(s)
    d = r.diagnosis
    assert d.status == "diagnosed" and d.domain == "prompt"
    assert d.root_cause["service"] == "summarizer" and d.root_cause["prompt_version"] == "v13"
    cited = d.hypotheses[0].evidence_for
    assert "ev-val" in cited and any(e.startswith("change:") for e in cited)
    assert d.runbook == "prompt-output-format"
    assert r.facts["prompt_version_previous"] == "v12" and r.facts["prompt"] == "summarize"


def test_a_provider_outage_behind_a_latency_alert_blames_the_provider_not_the_service() -> None:
    s = situation(CHAT, [
        evidence("provider_status", {"openai": {"status": {"indicator": "major", "description": "Partial outage"},
                                                "incidents": [{"name": "Elevated errors", "status": "investigating"}]},
                                     "anthropic": {"status": {"indicator": "none"}, "incidents": []}}, eid="ev-sp"),
        evidence("llm_signals", {"signals": [
            {"signal": "provider_error_rate", "series": [
                {"labels": {"provider": "openai"}, "value": 0.23, "baseline": 0.004}]}]}, eid="ev-calls"),
    ])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.domain == "provider" and d.root_cause["provider"] == "openai"
    assert d.confidence > 0.8 and d.runbook == "provider-outage"


def test_pods_restarting_on_a_node_under_pressure_blame_the_node() -> None:
    s = situation({"alertname": "KubePodCrashLooping", "service": "ranker", "namespace": "prod"}, [
        evidence("kubernetes", [
            vec("kube_node_status_condition", 1, node="gpu-node-3", condition="MemoryPressure", status="true"),
            vec("kube_pod_container_status_restarts_total", 5, namespace="prod", pod="ranker-7d9f-abcde",
                node="gpu-node-3"),
            vec("kube_pod_container_status_waiting_reason", 1, namespace="prod", pod="ranker-7d9f-abcde",
                reason="CrashLoopBackOff"),
        ], eid="ev-k8s"),
    ])
    r = OfflineReasoner(BOOKS).reason(s)
    assert r.diagnosis.domain == "infra" and r.diagnosis.root_cause.get("node") == "gpu-node-3"
    assert r.diagnosis.runbook == "node-pressure"


def test_an_oom_killed_service_is_an_infra_fault_of_that_service() -> None:
    s = situation({"alertname": "KubePodCrashLooping", "service": "embedder", "namespace": "ml"}, [
        evidence("kubernetes", [
            vec("kube_pod_container_status_last_terminated_reason", 1, namespace="ml", pod="embedder-5c8b-x1",
                reason="OOMKilled"),
            vec("kube_pod_container_status_restarts_total", 4, namespace="ml", pod="embedder-5c8b-x1"),
        ], eid="ev-oom"),
    ])
    r = OfflineReasoner(BOOKS).reason(s)
    assert r.diagnosis.domain == "infra" and r.diagnosis.root_cause["service"] == "embedder"
    assert r.facts["name"] == "embedder" and r.facts["namespace"] == "ml"


def test_an_alert_that_resolved_with_nothing_behind_it_is_no_fault() -> None:
    s = situation(CHAT, [], status="resolved")
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "diagnosed" and d.domain == "none" and d.root_cause == {}


def test_an_alert_with_no_evidence_at_all_is_inconclusive() -> None:
    d = OfflineReasoner(BOOKS).reason(situation(CHAT, [])).diagnosis
    assert d.status == "inconclusive" and d.domain is None


def test_two_equally_supported_domains_are_inconclusive() -> None:
    s = situation(CHAT, [], [
        change("prompt", 20, service="chat", namespace="prod", name="answer", **{"from": "v3"}, to="v4"),
        change("model", 20, service="chat", namespace="prod", name="gpt", **{"from": "a"}, to="b"),
    ])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "inconclusive"
    assert {h.domain for h in d.hypotheses[:2]} == {"prompt", "model"}


def test_a_change_after_the_onset_explains_nothing() -> None:
    s = situation(CHAT, [], [change("prompt", 1, service="chat", to="v9")], started_min_ago=30)
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert all(h.domain != "prompt" for h in d.hypotheses)


def test_the_same_situation_gives_the_same_diagnosis() -> None:
    s = situation(CHAT, [evidence("provider_status", {"openai": {"status": {"indicator": "critical"}}})])
    assert OfflineReasoner(BOOKS).reason(s).diagnosis == OfflineReasoner(BOOKS).reason(s).diagnosis


def test_a_planned_deploy_that_went_fine_is_no_fault() -> None:
    s = situation({"alertname": "KubeDeploymentReplicasMismatch", "service": "search", "namespace": "prod"}, [
        evidence("kubernetes", [
            vec("kube_deployment_spec_replicas", 4, namespace="prod", deployment="search"),
            vec("kube_deployment_status_replicas_available", 4, namespace="prod", deployment="search"),
        ], eid="ev-dep"),
    ], [change("deploy", 12, service="search", namespace="prod", name="search", to="search:2.1")], status="resolved")
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "diagnosed" and d.domain == "none"


def test_rate_limit_errors_in_the_logs_point_at_the_provider_the_service_calls() -> None:
    s = situation({"alertname": "LLMErrorRateHigh", "service": "triage", "namespace": "support"}, [
        evidence("llm_signals", {"signals": [
            {"signal": "llm_requests_total", "series": [
                {"labels": {"provider": "anthropic", "status": "ok"}, "value": 2.0, "baseline": 2.4},
                {"labels": {"provider": "anthropic", "status": "rate_limited"}, "value": 0.7, "baseline": 0.0}]},
            {"signal": "rate_limited", "series": [
                {"labels": {"provider": "anthropic"}, "value": 0.26, "baseline": 0.0}]},
        ]}, eid="ev-calls"),
        evidence("logs.kubernetes", {"signatures": [{"signature": "HTTP 429 Too Many Requests from api.anthropic.com",
                                          "count": 412}]}, eid="ev-logs"),
    ])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.domain == "provider" and d.root_cause["provider"] == "anthropic"
    assert "ev-logs" in d.hypotheses[0].evidence_for and "ev-calls" in d.hypotheses[0].evidence_for


CALM = {"signals": [{"signal": "llm_requests_total", "series": [
    {"labels": {"provider": "openai", "status": "ok"}, "value": 12.0, "baseline": 11.5}]}]}


def test_a_cleared_condition_with_nothing_abnormal_means_no_fault() -> None:
    s = situation(CHAT, [evidence("llm_signals", CALM, eid="ev-llm"),
                         evidence("infra_signals", {"signals": []}, status="no_data", eid="ev-infra"),
                         alert_condition(False)])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "diagnosed" and d.domain == "none"


def test_quiet_signal_tools_alone_are_not_health() -> None:
    s = situation(CHAT, [evidence("llm_signals", CALM, eid="ev-llm"),
                         evidence("infra_signals", {"signals": []}, status="no_data", eid="ev-infra")])
    assert OfflineReasoner(BOOKS).reason(s).diagnosis.status == "inconclusive"


def test_an_alert_that_still_holds_never_becomes_none_and_says_the_cause_is_not_found() -> None:
    s = situation(CHAT, [evidence("llm_signals", CALM, eid="ev-llm"),
                         evidence("infra_signals", {"signals": []}, status="no_data", eid="ev-infra"),
                         alert_condition(True)])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "inconclusive"
    assert "symptom confirmed, cause not found" in d.summary
    assert all(h.domain != "none" or h.score == 0 for h in d.hypotheses)


def test_an_alert_whose_condition_is_the_usual_state_is_no_fault() -> None:
    s = situation(CHAT, [evidence("llm_signals", CALM, eid="ev-llm"),
                         evidence("infra_signals", {"signals": []}, status="no_data", eid="ev-infra"),
                         alert_condition(True, baseline_share=0.9)])
    d = OfflineReasoner(BOOKS).reason(s).diagnosis
    assert d.status == "diagnosed" and d.domain == "none"


def test_failed_signal_tools_are_not_evidence_of_health() -> None:
    s = situation(CHAT, [evidence("llm_signals", None, status="error", eid="ev-llm"),
                         evidence("infra_signals", None, status="error", eid="ev-infra")])
    assert OfflineReasoner(BOOKS).reason(s).diagnosis.status == "inconclusive"
