"""Every local backend of the scenario at once, and a graph Context whose clients point at them.

Used by the investigate tests and by benchmarks/evidence_sweep.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.audit import AuditLog, Redactor
from agent.clients import build_clients
from agent.context import Context
from agent.models import Alert, Incident
from agent.replay.kube import KubeEmulator
from agent.replay.moto import MotoServer
from agent.replay.prometheus import PrometheusServer
from agent.replay.statuspage import StatuspageServer
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from tests.tools import scenario

LOG_GROUP = "/aws/ecs/summarizer-sweep"


@dataclass
class Backends:
    prometheus: PrometheusServer
    kube: KubeEmulator
    moto: MotoServer
    statuspage: StatuspageServer
    store: SqliteStore
    workdir: Path

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.workdir / "data", "prometheus_url": self.prometheus.url,
            "kubernetes_url": self.kube.url, "aws_endpoint_url": self.moto.url,
            "cloudwatch_log_groups": [LOG_GROUP], "provider_status_urls": self.statuspage.urls(),
            "tool_timeout_s": 5.0, "investigate_budget_s": 20.0, **overrides}
        return load_settings(env={}, **values)

    def context(self, incident: Incident, settings: Settings) -> Context:
        clients = build_clients(settings)
        clients.cloudwatch_logs = self.moto.client("logs")  # moto needs (dummy) credentials
        audit = AuditLog(self.store, Redactor(settings.redact_patterns, settings.secrets()))
        return Context(settings=settings, store=self.store, audit=audit, clients=clients, incident_id=incident.id,
                       instant=incident.instant, clock=lambda: scenario.NOW)


def incident(service: str, alertname: str = "LLMOutputValidationFailures", **labels: str) -> Incident:
    all_labels = {"alertname": alertname, "service": service, "namespace": "prod", "severity": "critical", **labels}
    alert = Alert(fingerprint=f"fp-{service}", status="firing", labels=all_labels, starts_at=scenario.ONSET,
                  generator_url="http://prometheus/graph?g0.expr=" + "rate(llm_requests_total%5B5m%5D)%20%3E%200")
    return Incident(id=f"inc-{service}", group_key=f"{{}}:{{service=\"{service}\"}}", status="investigating",
                    title=alertname, labels=all_labels, alerts=[alert], instant=scenario.INSTANT,
                    created_at=scenario.INSTANT, updated_at=scenario.INSTANT)


@contextlib.contextmanager
def scenario_backends(workdir: Path, *, filler: int = 200) -> Iterator[Backends]:
    """Start Prometheus, the Kubernetes emulator, moto and the status pages loaded with the scenario."""
    pages = {"openai": {"status": {"indicator": "minor", "description": "Degraded performance"}},
             "anthropic": {}}
    with contextlib.ExitStack() as stack:
        prometheus = stack.enter_context(PrometheusServer(scenario.samples(filler=filler), workdir / "prometheus"))
        kube = stack.enter_context(KubeEmulator(scenario.kube_objects(), logs=scenario.pod_logs()))
        moto = stack.enter_context(MotoServer())
        statuspage = stack.enter_context(StatuspageServer(pages))
        moto.put_log_events(LOG_GROUP, "s1", [(scenario.INSTANT - timedelta(seconds=i),
                                               f"ERROR summarizer output parse failed for request r{i:05d}x")
                                              for i in range(1, 501)])
        store = SqliteStore(workdir / "store.db")
        stack.callback(store.close)
        yield Backends(prometheus, kube, moto, statuspage, store, workdir)
