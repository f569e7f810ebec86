"""RED signals of a service read from a real Prometheus, in the `code` and the `status="5xx"` conventions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.replay.prometheus import PrometheusServer
from tests.tools.conftest import connect
from tools import red

pytestmark = pytest.mark.prometheus
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ONSET = AT - timedelta(minutes=10)
START = AT - timedelta(hours=2)


def _counter(per_minute_before: float, per_minute_after: float) -> list[tuple[float, float | None]]:
    out, total, t = [], 0.0, START
    while t <= AT:
        out.append((t.timestamp(), total))
        total += per_minute_after if t >= ONSET else per_minute_before
        t += timedelta(minutes=1)
    return out


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    samples = [
        ("http_requests_total", {"service": "api", "code": "200"}, _counter(600, 300)),
        ("http_requests_total", {"service": "api", "code": "500"}, _counter(0, 300)),
        ("http_requests_total", {"service": "fastapi", "status": "2xx"}, _counter(600, 600)),
        ("http_requests_total", {"service": "fastapi", "status": "5xx"}, _counter(600, 600)),
        ("http_request_duration_seconds_sum", {"service": "api"}, _counter(60, 300)),
        ("http_request_duration_seconds_count", {"service": "api"}, _counter(600, 600)),
    ]
    with PrometheusServer(samples, tmp_path_factory.mktemp("red")) as server:
        yield connect(server.url)


def test_a_new_error_ratio_and_slower_latency_are_anomalous(prom) -> None:
    found = red.signals(prom, "api", ONSET, AT)
    assert found.status == "ok", found.error
    signals = found.data["signals"]
    assert signals["error_ratio"]["anomalous"] and signals["error_ratio"]["direction"] == "up"
    assert signals["error_ratio"]["value"] == pytest.approx(0.5, rel=0.01)
    assert signals["latency_mean"]["anomalous"] and signals["latency_mean"]["value"] == pytest.approx(0.5, rel=0.01)
    assert not signals["request_rate"]["anomalous"]


def test_a_service_failing_half_its_requests_all_along_is_chronic(prom) -> None:
    error_ratio = red.signals(prom, "fastapi", ONSET, AT).data["signals"]["error_ratio"]
    assert error_ratio["value"] == pytest.approx(0.5, rel=0.01)
    assert error_ratio["chronic"] and not error_ratio["anomalous"]


def test_a_service_without_metrics_is_no_data(prom) -> None:
    assert red.signals(prom, "nobody", ONSET, AT).status == "no_data"
