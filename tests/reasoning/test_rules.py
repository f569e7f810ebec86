"""Named rules of the offline reasoner, each on the evidence shape its tool documents (tools/EVIDENCE.md)."""

from __future__ import annotations

from typing import Any

from agent.reasoning.offline import OfflineReasoner
from tests.reasoning.helpers import alert_condition, change, evidence, situation
from tests.reasoning.test_offline import BOOKS


def signals(*items: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"signals": [{"signal": name, "series": series} for name, series in items]}


def s(value: float, baseline: float | None = None, **labels: str) -> dict[str, Any]:
    return {"labels": labels, "value": value, "baseline": baseline}


ROUTER = {"alertname": "LLMOutputValidationFailures", "service": "router", "namespace": "support"}


def test_format_failures_after_a_model_change_blame_the_model_not_the_unchanged_prompt() -> None:
    sit = situation(ROUTER, [evidence("llm_signals", signals(
        ("output_validation_failures", [s(0.4, None, prompt_version="v31", reason="bad_enum")]),
        ("llm_requests_total", [s(5.0, 5.0, provider="openai", prompt_version="v31", status="ok")])))],
        [change("model", 12, service="router", namespace="support", name="gpt-4.1-mini", to="2025-10-30",
                **{"from": "2025-04-14"})])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert d.domain == "model" and d.root_cause["model_version"] == "2025-10-30"


def test_guardrail_blocks_with_no_change_point_at_the_prompt_an_injection_wave_hits() -> None:
    sit = situation({"alertname": "LLMGuardrailBlocks", "service": "kb", "namespace": "know"},
                    [evidence("llm_signals", signals(("guardrail_blocks", [s(14.0, 0.2, guardrail="injection")])))])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert d.hypotheses[0].domain == "prompt" and d.hypotheses[0].root_cause["service"] == "kb"
    assert all(h.domain != "model" for h in d.hypotheses)


def test_errors_of_a_model_served_in_the_cluster_are_not_a_provider_fault() -> None:
    sit = situation({"alertname": "LLMErrorRateHigh", "service": "copilot", "namespace": "ml"},
                    [evidence("llm_signals", signals(("provider_error_rate", [s(0.18, 0.0, provider="self-hosted")])))])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert all(h.domain != "provider" for h in d.hypotheses)


def test_crashes_right_after_a_deploy_of_the_service_are_a_failed_rollout() -> None:
    pods = {"pods": [{"name": "api-7c9-x1", "node": "n1", "phase": "Running", "ready": False, "containers": [
        {"name": "app", "ready": False, "restarts": 5, "state": "waiting", "reason": "CrashLoopBackOff",
         "last_termination": None}]}]}
    sit = situation({"alertname": "KubePodCrashLooping", "service": "api", "namespace": "prod"},
                    [evidence("kubernetes.pods", pods)],
                    [change("deploy", 20, service="api", namespace="prod", name="api", to="api:2.8.0")])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert d.domain == "infra" and d.root_cause["service"] == "api"
    assert "failed rollout" in d.hypotheses[0].cause


def test_a_failing_neighbour_in_the_namespace_is_the_root_cause_of_the_alerting_service() -> None:
    neighbours = signals(("oom_kills", [s(1, None, __name__="kube_pod_container_status_last_terminated_reason",
                                            namespace="chat", pod="session-store-5d8f-abcde", reason="OOMKilled")]))
    sit = situation({"alertname": "HTTPErrorsHigh", "service": "chat-api", "namespace": "chat"},
                    [evidence("neighbour_signals", neighbours)])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert d.domain == "infra" and d.root_cause["service"] == "session-store"


def test_a_minor_status_incident_on_parts_we_do_not_call_is_not_an_outage() -> None:
    page = {"provider": "openai", "status": {"indicator": "minor"}, "incidents": [
        {"name": "Image generation slow", "status": "monitoring"}], "degraded_components": [
        {"name": "Image generation", "status": "degraded_performance"}]}
    sit = situation({"alertname": "ProviderStatusDegraded", "provider": "openai"}, [
        evidence("provider_status", page), evidence("gateway", {"signals": []}, status="no_data"),
        evidence("infra_signals", {"signals": []}, status="no_data"), alert_condition(False)])
    d = OfflineReasoner(BOOKS).reason(sit).diagnosis
    assert d.status == "diagnosed" and d.domain == "none"
