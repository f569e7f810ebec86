"""The alerting service and what it calls, walked through the service graph and scored (read-only).

Most incidents show their symptom on the front service and their cause one or two calls down. This tool asks the
service graph (tools/service_graph.py: OpenTelemetry servicegraph / Tempo, Istio, Linkerd, the static map) who
the alerting service calls, and their callees in turn (breadth first, up to MAX_DEPTH calls down and MAX_SERVICES
services), and scores each service's own RED signals over the episode with tools/anomaly.py:

- `latency`: the mean request duration (`latency_mean` of tools/red.py);
- `errors`: the 5xx share (`error_ratio` of tools/red.py, with its binomial floor and chronic mark).

The episode starts EPISODE before the alert's onset (a `for: 5m` rule over a `[5m]` rate fires up to ten minutes
after its series began to move). The reasoner (agent/reasoning/rules/graph.py) walks the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools import red
from tools.result import result
from tools.service_graph import edges

TOOL = "dependencies"
MAX_DEPTH = 3
MAX_SERVICES = 16
EPISODE = timedelta(minutes=15)


def _walk(graph: Mapping[str, Sequence[str]], root: str) -> dict[str, tuple[int, str]]:
    """Breadth first from `root`: service -> (depth, the caller it was reached from)."""
    seen: dict[str, tuple[int, str]] = {root: (0, "")}
    frontier = [root]
    for depth in range(1, MAX_DEPTH + 1):
        nxt = []
        for caller in frontier:
            for callee in graph.get(caller, ()):
                if callee not in seen and len(seen) < MAX_SERVICES:
                    seen[callee] = (depth, caller)
                    nxt.append(callee)
        frontier = nxt
    return seen


def dependencies(prom: Any, service: str, namespace: str, onset: datetime, at: datetime, *,
                 static: Mapping[str, Sequence[str]] | None = None, timeout_s: float = 10.0) -> Evidence:
    """`ok` with `{"service", "graph": {caller: [callee]}, "services": {name: {"depth", "via", "latency",
    "errors"}}}` (each signal an anomaly score, or null without data); `no_data` when the graph knows no callee
    of `service`; `error` when Prometheus fails."""
    query = f"dependencies of {namespace}/{service} from {(onset - EPISODE).isoformat()} to {at.isoformat()}"
    found, errors = edges(prom, at, static=static, timeout_s=timeout_s)
    graph: dict[str, list[str]] = {}
    for edge in found:
        graph.setdefault(edge["caller"], []).append(edge["callee"])
    if not graph.get(service):
        if errors and not found:
            return result(TOOL, "error", query, error="; ".join(errors))
        return result(TOOL, "no_data", query, summary=f"the service graph knows no callee of {service}")
    start = onset - EPISODE
    services: dict[str, Any] = {}
    for name, (depth, via) in _walk(graph, service).items():
        found_red = red.signals(prom, name, start, at, timeout_s=timeout_s)
        if found_red.status == "error":
            return result(TOOL, "error", query, error=found_red.error)
        scored = (found_red.data or {}).get("signals", {}) if found_red.status == "ok" else {}
        services[name] = {"depth": depth, "via": via, "latency": scored.get("latency_mean"),
                          "errors": scored.get("error_ratio")}
    data = {"service": service, "namespace": namespace, "graph": {k: sorted(set(v)) for k, v in graph.items()},
            "services": services}
    moving = sorted(n for n, s in services.items()
                    if any((s[k] or {}).get("anomalous") for k in ("latency", "errors")))
    return result(TOOL, "ok", query, data=data,
                  summary=f"{len(services) - 1} dependencies of {service}; anomalous: {', '.join(moving) or 'none'}")
