"""Root cause through the service graph, on a real Prometheus: the walk names the deepest dependency whose own
change began first, passes over a decoy that fails all the time, and calls a fault that is over transient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.reasoning.offline import OfflineReasoner
from agent.replay.prometheus import PrometheusServer, Sample
from tests.reasoning.helpers import alert_condition, evidence
from tests.tools.conftest import connect
from tools.dependencies import dependencies

pytestmark = pytest.mark.prometheus

INSTANT = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
START = INSTANT - timedelta(hours=3)
STEPS = 181
NS = "rag"
ONSET = INSTANT - timedelta(minutes=12)  # the alert fired 12 minutes ago (a 5m for over a 5m rate)
SLOW_FROM = STEPS - 22                   # the embedder slowed down 21 minutes before the instant


def _ts(i: int) -> float:
    return (START + timedelta(minutes=i)).timestamp()


def _service(name: str, rpm: float, latency: list[float], error_share: float = 0.0) -> list[Sample]:
    """Counters of a service with `rpm` requests a minute, its mean latency per minute, and a 5xx share."""
    ok, bad, total_s, count = [], [], [], []
    acc = {"ok": 0.0, "bad": 0.0, "sum": 0.0, "count": 0.0}
    for i in range(STEPS):
        acc["ok"] += rpm * (1 - error_share)
        acc["bad"] += rpm * error_share
        acc["count"] += rpm
        acc["sum"] += rpm * latency[i]
        ok.append((_ts(i), acc["ok"]))
        bad.append((_ts(i), acc["bad"]))
        total_s.append((_ts(i), acc["sum"]))
        count.append((_ts(i), acc["count"]))
    labels = {"service": name, "namespace": NS}
    out: list[Sample] = [("http_requests_total", {**labels, "code": "200"}, ok),
                         ("http_request_duration_seconds_sum", labels, total_s),
                         ("http_request_duration_seconds_count", labels, count)]
    if error_share:
        out.append(("http_requests_total", {**labels, "code": "500"}, bad))
    return out


def _edge(client: str, server: str, rpm: float) -> Sample:
    return ("traces_service_graph_request_total", {"client": client, "server": server},
            [(_ts(i), rpm * i) for i in range(STEPS)])


def _latency(normal: float, slow: float, *, from_step: int, until_step: int = STEPS) -> list[float]:
    jitter = [0.0, 0.002, -0.001, 0.001, -0.002]
    return [(slow if from_step <= i < until_step else normal) * (1 + jitter[i % 5]) for i in range(STEPS)]


def _graph(prefix: str, *, until_step: int = STEPS) -> list[Sample]:
    """front -> vector-db -> embedder, and front -> cache (the decoy: half its requests fail, always)."""
    front, vdb, emb, cache = (f"{prefix}-{n}" for n in ("front", "vector-db", "embedder", "cache"))
    return [
        *_service(front, 600, _latency(0.20, 0.90, from_step=SLOW_FROM + 1, until_step=until_step)),
        *_service(vdb, 600, _latency(0.05, 0.75, from_step=SLOW_FROM, until_step=until_step)),
        *_service(emb, 600, _latency(0.02, 0.70, from_step=SLOW_FROM, until_step=until_step)),
        *_service(cache, 300, _latency(0.004, 0.004, from_step=0), error_share=0.5),
        _edge(front, vdb, 600), _edge(vdb, emb, 600), _edge(front, cache, 300),
    ]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    workdir: Path = tmp_path_factory.mktemp("dependency-walk")
    samples = [*_graph("now"), *_graph("past", until_step=STEPS - 8)]
    with PrometheusServer(samples, workdir) as server:
        yield connect(server.url)


def _diagnose(found, holds: bool):  # type: ignore[no-untyped-def]
    from tests.reasoning.helpers import situation

    labels = {"alertname": "HTTPLatencyHigh", "service": found.data["service"], "namespace": NS}
    s = situation(labels, [found, alert_condition(holds), evidence("infra_signals", {"signals": []}, "no_data"),
                           evidence("llm_signals", {"signals": []}, "no_data")], started_min_ago=12)
    return OfflineReasoner().reason(s).diagnosis


def test_the_walk_scores_every_service_below_the_alerting_one(prom) -> None:
    found = dependencies(prom, "now-front", NS, ONSET, INSTANT)
    assert found.status == "ok"
    services = found.data["services"]
    assert set(services) == {"now-front", "now-vector-db", "now-embedder", "now-cache"}
    assert services["now-embedder"]["depth"] == 2 and services["now-embedder"]["via"] == "now-vector-db"
    assert services["now-embedder"]["latency"]["anomalous"] is True
    assert services["now-cache"]["errors"]["chronic"] is True  # half its requests fail in normal operation


def test_the_deepest_dependency_that_moved_first_is_the_root_cause_not_the_chronic_decoy(prom) -> None:
    diagnosis = _diagnose(dependencies(prom, "now-front", NS, ONSET, INSTANT), holds=True)
    assert diagnosis.status == "diagnosed", diagnosis.summary
    assert diagnosis.domain == "infra"
    assert diagnosis.root_cause["service"] == "now-embedder"
    assert all(h.root_cause.get("service") != "now-cache" for h in diagnosis.hypotheses)


def test_a_dependency_fault_that_is_over_is_a_transient_fault_not_no_fault(prom) -> None:
    diagnosis = _diagnose(dependencies(prom, "past-front", NS, ONSET, INSTANT), holds=False)
    assert diagnosis.status == "diagnosed", diagnosis.summary
    assert diagnosis.root_cause["service"] == "past-embedder"
    assert "transient" in diagnosis.summary


def test_a_service_the_graph_does_not_know_is_no_data(prom) -> None:
    assert dependencies(prom, "nobody", NS, ONSET, INSTANT).status == "no_data"
