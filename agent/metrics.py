"""opsmedic's own Prometheus metrics, served at `GET /metrics`.

They live in one registry made here (not the global default), so tests and embedders get only these.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

INTAKE = Counter(
    "opsmedic_intake_requests_total", "Webhook and API requests by endpoint and outcome",
    ["endpoint", "outcome"], registry=REGISTRY,
)
INCIDENTS = Counter(
    "opsmedic_incidents_total", "Alertmanager deliveries by effect on incidents (created, updated, duplicate)",
    ["effect"], registry=REGISTRY,
)
QUEUE_DEPTH = Gauge("opsmedic_queue_depth", "Jobs waiting or running in the work queue", registry=REGISTRY)
GRAPH_RUNS = Counter(
    "opsmedic_graph_runs_total", "Graph runs by outcome (ok, rejected, error)", ["outcome"], registry=REGISTRY,
)
GRAPH_SECONDS = Histogram(
    "opsmedic_graph_run_seconds", "Wall time of one graph run (until it ends or waits for approval)",
    registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
ERRORS = Counter("opsmedic_errors_total", "Internal errors by component", ["component"], registry=REGISTRY)
