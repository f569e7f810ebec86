"""Who calls whom, learned from Prometheus in the conventions meshes and tracers use (read-only).

- OpenTelemetry Collector servicegraph connector and Tempo: `traces_service_graph_request_total{client,server}`
  and `traces_service_graph_request_failed_total{client,server}`.
- Istio: `istio_requests_total{source_workload,destination_workload,response_code}` (5xx counts as failed),
  reported by the destination (`reporter="destination"`) or the source when only that one is there.
- Linkerd: the proxy's `response_total{direction="outbound",deployment,dst_deployment,classification}`
  (`classification="failure"` counts as failed); `deployment` is the calling workload.
- A static map (`{caller: [callee, ...]}`), from the `service_dependencies` setting, for what no metric shows.

Edges from every source are merged; a metric edge carries its request and failure rates per second over the
window before the instant, a static edge carries none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agent.models import Evidence
from tools.prometheus import QueryFailed, duration, query_vector
from tools.result import result

TOOL = "service_graph"

# (convention, total expression, failed expression, client label, server label); {w} is the rate window.
CONVENTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("servicegraph", "sum by (client, server) (rate(traces_service_graph_request_total[{w}]))",
     "sum by (client, server) (rate(traces_service_graph_request_failed_total[{w}]))", "client", "server"),
    ("istio", "sum by (source_workload, destination_workload) (rate(istio_requests_total[{w}]))",
     'sum by (source_workload, destination_workload) (rate(istio_requests_total{{response_code=~"5.."}}[{w}]))',
     "source_workload", "destination_workload"),
    ("linkerd", 'sum by (deployment, dst_deployment) (rate(response_total{{direction="outbound"}}[{w}]))',
     'sum by (deployment, dst_deployment) (rate(response_total{{direction="outbound",classification="failure"}}'
     '[{w}]))', "deployment", "dst_deployment"),
)


def edges(prom: Any, at: datetime, *, window_s: float = 300.0, static: Mapping[str, Sequence[str]] | None = None,
          timeout_s: float = 10.0) -> tuple[list[dict[str, Any]], list[str]]:
    """All edges known at `at`, and the errors met on the way (one per convention that failed)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    errors: list[str] = []
    w = duration(window_s)
    for name, total_q, failed_q, client, server in CONVENTIONS:
        if prom is None:
            break
        try:
            totals = query_vector(prom, total_q.format(w=w), at, timeout_s)
            failed = {(s["labels"].get(client, ""), s["labels"].get(server, "")): s["value"]
                      for s in query_vector(prom, failed_q.format(w=w), at, timeout_s)}
        except QueryFailed as exc:
            errors.append(f"{name}: {exc}")
            continue
        for series in totals:
            pair = (series["labels"].get(client, ""), series["labels"].get(server, ""))
            if not all(pair) or pair[0] == pair[1]:
                continue
            rate = series["value"] or 0.0
            fail = failed.get(pair) or 0.0
            found.setdefault(pair, {"caller": pair[0], "callee": pair[1], "sources": [], "request_rate": None,
                                    "failure_rate": None, "failure_ratio": None})
            edge = found[pair]
            edge["sources"].append(name)
            edge["request_rate"] = (edge["request_rate"] or 0.0) + rate
            edge["failure_rate"] = (edge["failure_rate"] or 0.0) + fail
            edge["failure_ratio"] = edge["failure_rate"] / edge["request_rate"] if edge["request_rate"] else None
    for caller, callees in (static or {}).items():
        for callee in callees:
            edge = found.setdefault((caller, callee), {"caller": caller, "callee": callee, "sources": [],
                                                       "request_rate": None, "failure_rate": None,
                                                       "failure_ratio": None})
            edge["sources"].append("static")
    return sorted(found.values(), key=lambda e: (e["caller"], e["callee"])), errors


def neighbours(prom: Any, service: str, at: datetime, *, window_s: float = 300.0,
               static: Mapping[str, Sequence[str]] | None = None, timeout_s: float = 10.0) -> Evidence:
    """The services `service` calls (callees) and the services that call it (callers), as of `at`.

    Use it to walk from an alerting service to its dependencies (vector store, cache, model server, provider
    gateway) and to who depends on it. `ok` with `{"service", "callees": [edge], "callers": [edge]}`, each edge
    `{"caller", "callee", "sources" (servicegraph | istio | linkerd | static), "request_rate", "failure_rate",
    "failure_ratio"}` (per second over the window; null on a static edge); `no_data` when no source knows the
    service; `error` when every metric source failed and no static edge is known.
    """
    query = f"service graph around {service} @ {at.isoformat()} over {duration(window_s)}"
    all_edges, errors = edges(prom, at, window_s=window_s, static=static, timeout_s=timeout_s)
    callees = [e for e in all_edges if e["caller"] == service]
    callers = [e for e in all_edges if e["callee"] == service]
    if not callees and not callers:
        if prom is None and not static:
            return result(TOOL, "error", query, error="Prometheus is not configured and no static map is set")
        if errors and len(errors) == len(CONVENTIONS):
            return result(TOOL, "error", query, error="; ".join(errors))
        return result(TOOL, "no_data", query, summary=f"no edge to or from {service}")
    data = {"service": service, "callees": callees, "callers": callers, "errors": errors}
    return result(TOOL, "ok", query, data=data,
                  summary=f"{service} calls {len(callees)} service(s), called by {len(callers)}")
