"""Prometheus helpers against the real Prometheus binary loaded with the scenario's samples."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from agent.errors import ConfigError
from agent.replay.prometheus import PrometheusServer
from tests.conftest import CannedServer, HangingServer
from tests.tools import scenario
from tests.tools.conftest import connect
from tools import prometheus

pytestmark = pytest.mark.prometheus
INSTANT = scenario.INSTANT
V12_SELECTOR = 'llm_requests_total{service="summarizer",prompt_version="v12"}'


def test_instant_query_reads_the_value_at_the_instant_not_now(prom) -> None:
    found = prometheus.instant_query(prom, V12_SELECTOR, INSTANT)
    assert found.status == "ok"
    assert float(found.data[0]["value"][1]) == 50 * scenario.CHANGE_STEP
    earlier = prometheus.instant_query(prom, V12_SELECTOR, scenario.at(170))
    assert float(earlier.data[0]["value"][1]) == 50 * 10
    assert found.query == f"{V12_SELECTOR} @ {INSTANT.isoformat()}"


def test_instant_query_of_an_unknown_metric_is_no_data(prom) -> None:
    found = prometheus.instant_query(prom, "no_such_metric_total", INSTANT)
    assert found.status == "no_data"


def test_a_query_prometheus_rejects_is_an_error(prom) -> None:
    found = prometheus.instant_query(prom, "sum(rate(llm_requests_total[5m]", INSTANT)
    assert found.status == "error"
    assert "400" in found.error


def test_compare_gives_the_baseline_and_null_for_a_series_that_is_new(prom) -> None:
    promql = 'sum by (prompt_version) (rate(llm_requests_total{service="summarizer"}[5m]))'
    found = prometheus.compare(prom, promql, INSTANT, scenario.ONSET - timedelta(hours=1), name="requests")
    by_version = {s["labels"]["prompt_version"]: s for s in found.data["series"]}
    assert found.status == "ok"
    assert by_version["v13"]["value"] == pytest.approx(50 / 60, rel=0.01)
    assert by_version["v13"]["baseline"] is None
    assert by_version["v12"]["value"] == 0  # v12 stopped taking traffic at the change
    assert by_version["v12"]["baseline"] == pytest.approx(50 / 60, rel=0.01)


def test_rate_over_a_window_sums_by_the_labels_asked(prom) -> None:
    found = prometheus.rate(prom, 'llm_output_validation_failures_total{service="summarizer"}', 300, INSTANT,
                            by=["reason"])
    [series] = found.data["series"]
    assert series["labels"] == {"reason": "invalid_json"}
    assert series["value"] == pytest.approx(9 / 60, rel=0.01)


def test_top_puts_the_highest_series_first(prom) -> None:
    found = prometheus.top(prom, 'rate(http_requests_total{namespace="other"}[5m])', INSTANT, k=3)
    values = [s["value"] for s in found.data["series"]]
    assert len(values) == 3
    assert values == sorted(values, reverse=True)
    assert values[0] == pytest.approx(7 / 60, rel=0.01)


def test_first_seen_tells_when_a_series_appeared(prom) -> None:
    found = prometheus.first_seen(prom, 'llm_requests_total{service="summarizer"}', INSTANT, lookback_s=4 * 3600)
    by_version = {s["labels"]["prompt_version"]: s for s in found.data["series"]}
    assert by_version["v13"]["first_seen"] == scenario.PROMPT_CHANGE.isoformat()
    assert by_version["v13"]["new"] is True
    assert by_version["v12"]["new"] is False


def test_label_history_finds_the_new_prompt_version(prom) -> None:
    found = prometheus.label_history(prom, 'llm_requests_total{service="summarizer"}', "prompt_version", INSTANT)
    assert [(v["label_value"], v["new"]) for v in found.data["values"]] == [("v12", False), ("v13", True)]


def test_range_query_returns_one_point_per_step(prom) -> None:
    found = prometheus.range_query(prom, V12_SELECTOR, scenario.at(30), INSTANT, step_s=60)
    assert found.status == "ok"
    assert len(found.data[0]["points"]) == 31


def test_a_server_error_is_an_error(canned_server: CannedServer) -> None:
    canned_server.status, canned_server.body = 503, b"upstream down"
    found = prometheus.instant_query(connect(canned_server.url), "up", INSTANT)
    assert found.status == "error"
    assert "503" in found.error


def test_a_malformed_answer_is_an_error(canned_server: CannedServer) -> None:
    canned_server.body = b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}'
    assert prometheus.instant_query(connect(canned_server.url), "up", INSTANT).status == "error"
    canned_server.body = b"<html>not json</html>"
    assert prometheus.compare(connect(canned_server.url), "up", INSTANT, None).status == "error"


def test_a_hanging_prometheus_is_cut_off_at_the_timeout(hanging_server: HangingServer) -> None:
    started = time.monotonic()
    found = prometheus.instant_query(connect(hanging_server.url), "up", INSTANT, timeout_s=0.5)
    assert found.status == "error"
    assert "Timeout" in found.error or "timed out" in found.error
    assert time.monotonic() - started < 2


def test_no_client_is_an_error_not_a_crash() -> None:
    assert prometheus.instant_query(None, "up", INSTANT).status == "error"
    assert prometheus.first_seen(None, "up", INSTANT).status == "error"


def test_samples_in_the_future_are_refused(tmp_path) -> None:
    future = time.time() + 3600
    with pytest.raises(ConfigError, match="future"):
        PrometheusServer([("x", {}, [(future, 1.0)])], tmp_path).start()


def test_many_series_load_quickly(tmp_path) -> None:
    samples = scenario.samples(filler=3000)  # 3,000 series, 543,000 samples
    started = time.monotonic()
    with PrometheusServer(samples, tmp_path) as server:
        loaded = time.monotonic() - started
        found = prometheus.instant_query(connect(server.url), 'count(http_requests_total{namespace="other"})',
                                         INSTANT)
    assert float(found.data[0]["value"][1]) == 3000
    assert loaded < 20


def test_ten_days_of_samples_load_in_few_blocks_and_stay_queryable(tmp_path) -> None:
    end = scenario.INSTANT.timestamp()
    days = [(end - 10 * 86400 + 300 * k, float(k)) for k in range(10 * 288)]
    samples = [("load_test", {"i": str(i)}, days) for i in range(30)]
    started = time.monotonic()
    with PrometheusServer(samples, tmp_path) as server:
        loaded = time.monotonic() - started
        nine_days_ago = scenario.INSTANT - timedelta(days=9)
        found = prometheus.instant_query(connect(server.url), 'load_test{i="7"}', nine_days_ago)
    assert float(found.data[0]["value"][1]) == 288  # the sample at 10 d - 1 d
    assert len([p for p in (tmp_path / "data").iterdir() if p.name.startswith("01")]) <= 2  # aligned blocks
    assert loaded < 10  # promtool's 2-hour default blocks take over 20 s for this
