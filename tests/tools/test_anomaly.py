"""The anomaly score against a real Prometheus holding a step change, a chronic failure and a quiet series."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.replay.prometheus import PrometheusServer
from tests.tools.conftest import connect
from tools import anomaly

pytestmark = pytest.mark.prometheus
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ONSET = AT - timedelta(minutes=15)
START = AT - timedelta(days=1, hours=2)


def _points(value_at) -> list[tuple[float, float | None]]:
    out = []
    t = START
    while t <= AT:
        out.append((t.timestamp(), value_at(t)))
        t += timedelta(minutes=1)
    return out


def _wiggle(t: datetime) -> float:
    return 0.02 * math.sin(t.timestamp() / 180)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    samples = [
        ("latency_seconds", {"service": "step"}, _points(lambda t: 0.2 + _wiggle(t) + (0.8 if t >= ONSET else 0))),
        ("latency_seconds", {"service": "blip"},
         _points(lambda t: 0.2 + _wiggle(t) + (0.8 if ONSET <= t < ONSET + timedelta(minutes=5) else 0))),
        ("latency_seconds", {"service": "quiet"}, _points(lambda t: 0.2 + _wiggle(t))),
        ("error_ratio", {"service": "chronic"}, _points(lambda t: 1.0 if t >= AT - timedelta(hours=20) else 0.01)),
    ]
    with PrometheusServer(samples, tmp_path_factory.mktemp("anomaly")) as server:
        yield connect(server.url)


def _by_service(found) -> dict[str, dict]:
    assert found.status == "ok", found.error
    return {s["labels"]["service"]: s for s in found.data["series"]}


def test_a_step_change_is_anomalous_upwards_from_its_onset_and_ongoing(prom) -> None:
    step = _by_service(anomaly.series(prom, "latency_seconds", ONSET, AT))["step"]
    assert step["anomalous"] and step["direction"] == "up" and not step["ended"] and not step["chronic"]
    assert step["onset"] == ONSET.isoformat()
    assert step["score"] >= anomaly.THRESHOLD


def test_a_spike_that_recovered_before_the_instant_is_reported_ended_with_its_onset(prom) -> None:
    blip = _by_service(anomaly.series(prom, "latency_seconds", ONSET, AT))["blip"]
    assert blip["anomalous"] and blip["ended"]
    assert blip["onset"] == ONSET.isoformat()


def test_a_quiet_series_is_not_anomalous(prom) -> None:
    quiet = _by_service(anomaly.series(prom, "latency_seconds", ONSET, AT))["quiet"]
    assert not quiet["anomalous"] and quiet["direction"] == "none"


def test_a_series_already_failing_before_the_window_is_chronic_not_new(prom) -> None:
    found = _by_service(anomaly.series(prom, "error_ratio", ONSET, AT, chronic_if_median_at_least=0.5))
    assert found["chronic"]["chronic"]
    assert not found["chronic"]["anomalous"]


def test_a_baseline_abnormal_against_the_day_before_is_chronic_without_a_median_rule() -> None:
    day_before = [(float(i), 0.01) for i in range(60)]
    baseline = [(float(100 + i), 1.0) for i in range(60)]
    window = [(float(200 + i), 1.0) for i in range(10)]
    found = anomaly.score(window, baseline, day_before=day_before)
    assert found.chronic and not found.anomalous


def test_one_error_in_twenty_requests_is_not_an_anomaly_with_the_binomial_floor() -> None:
    baseline = [(float(i), 0.0) for i in range(60)]
    window = [(float(100 + i), 0.05) for i in range(5)]
    floor = math.sqrt(0.05 * 0.95 / 20)
    assert not anomaly.score(window, baseline, floor=floor).anomalous
    assert anomaly.score(window, baseline).anomalous  # without the floor the same points would be flagged


def test_a_single_odd_point_is_not_an_anomaly() -> None:
    baseline = [(float(i), 1.0 + 0.01 * (i % 3)) for i in range(60)]
    window = [(100.0, 1.0), (101.0, 9.0), (102.0, 1.0)]
    assert not anomaly.score(window, baseline).anomalous


def test_an_unreachable_prometheus_is_an_error_result() -> None:
    found = anomaly.series(connect("http://127.0.0.1:9", timeout_s=1), "up", ONSET, AT)
    assert found.status == "error"
