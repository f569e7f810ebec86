"""The service graph read from a real Prometheus in each convention, and from the static map."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.replay.prometheus import PrometheusServer
from tests.tools.conftest import connect
from tools import service_graph

pytestmark = pytest.mark.prometheus
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _counter(per_minute: float) -> list[tuple[float, float | None]]:
    start = AT - timedelta(minutes=30)
    return [((start + timedelta(minutes=i)).timestamp(), per_minute * i) for i in range(31)]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    samples = [
        ("traces_service_graph_request_total", {"client": "frontend", "server": "search"}, _counter(600)),
        ("traces_service_graph_request_failed_total", {"client": "frontend", "server": "search"}, _counter(60)),
        ("istio_requests_total", {"source_workload": "search", "destination_workload": "vectordb",
                                  "response_code": "200", "reporter": "destination"}, _counter(300)),
        ("istio_requests_total", {"source_workload": "search", "destination_workload": "vectordb",
                                  "response_code": "503", "reporter": "destination"}, _counter(300)),
        ("response_total", {"direction": "outbound", "deployment": "search", "dst_deployment": "embedder",
                            "classification": "success"}, _counter(120)),
        ("response_total", {"direction": "inbound", "deployment": "embedder", "classification": "success"},
         _counter(120)),
    ]
    with PrometheusServer(samples, tmp_path_factory.mktemp("graph")) as server:
        yield connect(server.url)


def _callees(found) -> dict[str, dict]:
    assert found.status == "ok", found.error
    return {e["callee"]: e for e in found.data["callees"]}


def test_the_otel_servicegraph_edge_carries_request_and_failure_rates(prom) -> None:
    search = _callees(service_graph.neighbours(prom, "frontend", AT))["search"]
    assert search["sources"] == ["servicegraph"]
    assert search["request_rate"] == pytest.approx(10, rel=0.01)
    assert search["failure_ratio"] == pytest.approx(0.1, rel=0.01)


def test_istio_counts_5xx_as_failures(prom) -> None:
    vectordb = _callees(service_graph.neighbours(prom, "search", AT))["vectordb"]
    assert vectordb["sources"] == ["istio"]
    assert vectordb["failure_ratio"] == pytest.approx(0.5, rel=0.01)


def test_linkerd_outbound_responses_make_an_edge_from_the_calling_deployment(prom) -> None:
    embedder = _callees(service_graph.neighbours(prom, "search", AT))["embedder"]
    assert embedder["sources"] == ["linkerd"]
    assert embedder["request_rate"] == pytest.approx(2, rel=0.01)
    assert embedder["failure_rate"] == 0


def test_callers_are_found_from_the_callee(prom) -> None:
    found = service_graph.neighbours(prom, "search", AT)
    assert [e["caller"] for e in found.data["callers"]] == ["frontend"]


def test_the_static_map_adds_edges_no_metric_shows(prom) -> None:
    found = service_graph.neighbours(prom, "search", AT, static={"search": ["redis-cache"]})
    cache = _callees(found)["redis-cache"]
    assert cache["sources"] == ["static"] and cache["request_rate"] is None


def test_the_static_map_works_without_prometheus() -> None:
    found = service_graph.neighbours(None, "rag", AT, static={"rag": ["pinecone"]})
    assert [e["callee"] for e in found.data["callees"]] == ["pinecone"]


def test_an_unknown_service_is_no_data(prom) -> None:
    assert service_graph.neighbours(prom, "nobody", AT).status == "no_data"


def test_an_unreachable_prometheus_without_a_map_is_an_error() -> None:
    found = service_graph.neighbours(connect("http://127.0.0.1:9", timeout_s=1), "search", AT)
    assert found.status == "error"
