"""The signal catalog, LLM signals and the gateway signals, against the real Prometheus."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from tests.conftest import CannedServer, HangingServer
from tests.tools import scenario
from tests.tools.conftest import connect
from tools import llm_signals, provider_status
from tools.catalog import Scope, load_catalog, signal_set

INSTANT, ONSET = scenario.INSTANT, scenario.ONSET
SUMMARIZER = Scope(service="summarizer", namespace="prod")


def by_signal(data: dict) -> dict[str, list[dict]]:
    return {s["signal"]: s["series"] for s in data["signals"]}


@pytest.mark.prometheus
def test_every_builtin_signal_is_promql_that_prometheus_accepts(prom, catalog) -> None:
    scope = Scope(service="api", namespace="prod", deployment="api", pod_prefix="api-")
    found = signal_set(prom, catalog, catalog.names(), scope, INSTANT, ONSET, tool="all")
    assert found.data["errors"] == {}


def test_the_catalog_covers_the_signals_diagnosis_needs(catalog) -> None:
    wanted = {"restarts", "oom_kills", "cpu_throttling", "gpu_memory_used", "kv_cache_usage", "provider_error_rate",
              "rate_limited", "latency_p95", "output_validation_failures", "eval_score", "tokens_per_request",
              "spend_usd_per_hour", "negative_feedback_share"}
    assert wanted <= set(catalog.names())


def test_an_override_renames_metrics_and_labels_and_adds_signals(tmp_path) -> None:
    override = tmp_path / "signals.yaml"
    override.write_text("metrics: {llm_requests: genai_calls_total}\nlabels: {service: app}\n"
                        "signals:\n  queue_depth: {group: infra, query: 'my_queue_depth{${ns_sel}}'}\n")
    catalog = load_catalog(override)
    promql = catalog.promql("provider_error_rate", SUMMARIZER)
    assert "genai_calls_total{app=\"summarizer\",namespace=\"prod\"" in promql
    assert "llm_requests_total" not in promql
    assert catalog.promql("queue_depth", SUMMARIZER) == 'my_queue_depth{namespace="prod"}'
    assert "restarts" in catalog.names("infra")


@pytest.mark.parametrize("text, message", [
    ("metrics: {llm_requests: 'not a name'}", "not a valid Prometheus name"),
    ("signals: {x: {query: 'up', group: nowhere}}", "signals.x.group"),
    ("metrics: [", "not valid YAML"),
])
def test_a_bad_override_says_what_is_wrong_and_where(tmp_path, text: str, message: str) -> None:
    override = tmp_path / "bad.yaml"
    override.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_catalog(override)


def test_an_unknown_signal_or_placeholder_is_a_config_error(tmp_path, catalog) -> None:
    with pytest.raises(ConfigError, match="no signal 'nope'"):
        catalog.promql("nope", SUMMARIZER)
    override = tmp_path / "o.yaml"
    override.write_text("signals: {x: {query: '${nowhere}'}}")
    with pytest.raises(ConfigError, match="placeholder"):
        load_catalog(override).promql("x", SUMMARIZER)


@pytest.mark.prometheus
def test_llm_signals_pin_validation_failures_on_the_new_prompt_version(prom, catalog) -> None:
    found = llm_signals.llm_signals(prom, catalog, "summarizer", "prod", INSTANT, ONSET)
    signals = by_signal(found.data)
    assert found.status == "ok"
    [failures] = signals["output_validation_failures"]
    assert failures["labels"] == {"prompt_version": "v13", "reason": "invalid_json"}
    assert failures["value"] == pytest.approx(9 / 60, rel=0.01)
    assert failures["baseline"] is None
    assert found.data["versions"]["prompt_version"] == {"before": ["v12"], "after": ["v13"]}
    [score] = signals["eval_score"]
    assert (score["labels"]["prompt_version"], score["value"]) == ("v13", pytest.approx(0.6))
    requests = {s["labels"]["prompt_version"]: s for s in signals["llm_requests_total"]}
    assert requests["v12"]["baseline"] == pytest.approx(50 / 60, rel=0.01)


@pytest.mark.prometheus
def test_llm_signals_of_a_service_without_metrics_are_no_data(prom, catalog) -> None:
    found = llm_signals.llm_signals(prom, catalog, "nobody", "prod", INSTANT, ONSET)
    assert found.status == "no_data"
    assert found.data["errors"] == {}


@pytest.mark.prometheus
def test_infra_signals_keep_the_metric_name_of_raw_selectors(prom, catalog) -> None:
    scope = Scope(service="api", namespace="prod", deployment="api", pod_prefix="api-")
    found = signal_set(prom, catalog, ["restarts", "oom_kills", "node_conditions"], scope, INSTANT, ONSET,
                       tool="infra_signals")
    signals = by_signal(found.data)
    assert signals["restarts"][0]["value"] >= 1
    assert signals["oom_kills"][0]["labels"]["__name__"] == "kube_pod_container_status_last_terminated_reason"
    assert [s["labels"]["node"] for s in signals["node_conditions"]] == ["n2"]


@pytest.mark.prometheus
def test_gateway_shows_429s_and_the_outage_state(prom, catalog) -> None:
    found = provider_status.gateway(prom, catalog, INSTANT, ONSET)
    signals = by_signal(found.data)
    [failures] = signals["litellm_deployment_failure_responses_total"]
    assert failures["labels"] == {"api_provider": "openai", "exception_status": "429"}
    assert failures["value"] == pytest.approx(0.5, rel=0.01)
    assert failures["baseline"] == 0
    [state] = signals["gateway_state"]
    assert (state["value"], state["baseline"]) == (2, 0)


@pytest.mark.prometheus
def test_gateway_shows_only_the_providers_the_service_calls(prom, catalog) -> None:
    openai_user = provider_status.gateway(prom, catalog, INSTANT, ONSET, service="summarizer", namespace="prod")
    assert (openai_user.status, openai_user.data["providers"]) == ("ok", ["openai"])
    anthropic_user = provider_status.gateway(prom, catalog, INSTANT, ONSET, service="translator", namespace="prod")
    assert (anthropic_user.status, anthropic_user.data["providers"]) == ("no_data", ["anthropic"])


def test_signals_from_a_failing_prometheus_are_an_error(canned_server: CannedServer, catalog) -> None:
    canned_server.status = 500
    found = llm_signals.llm_signals(connect(canned_server.url), catalog, "summarizer", "prod", INSTANT, ONSET)
    assert found.status == "error"
    assert set(found.data["errors"]) == set(catalog.names("llm"))


def test_signals_from_a_hanging_prometheus_are_an_error(hanging_server: HangingServer, catalog) -> None:
    found = provider_status.gateway(connect(hanging_server.url, 0.2), catalog, INSTANT, ONSET, timeout_s=0.2)
    assert found.status == "error"


def test_signals_from_a_malformed_answer_are_an_error(canned_server: CannedServer, catalog) -> None:
    canned_server.body = b'{"status": "success", "data": {"result": "three"}}'
    found = provider_status.gateway(connect(canned_server.url), catalog, INSTANT, ONSET)
    assert found.status == "error"
    assert "unexpected" in found.error
