"""Which tools an incident calls: the plan the `investigate` node runs in parallel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from agent.context import Context
from agent.models import Evidence, Incident
from tools import prometheus


@dataclass(frozen=True)
class Probe:
    """One tool call to make: a name, the query it will run (for the audit log), and the call itself."""

    tool: str
    query: str
    call: Callable[[], Evidence]


def alert_expression(generator_url: str) -> str:
    """The PromQL behind an alert, from its Prometheus generator URL (`...graph?g0.expr=...`)."""
    values = parse_qs(urlparse(generator_url).query).get("g0.expr")
    return values[0] if values else ""


def plan(incident: Incident, ctx: Context) -> list[Probe]:
    probes: list[Probe] = []
    for alert in incident.firing or incident.alerts:
        expr = alert_expression(alert.generator_url)
        if expr:
            probes.append(
                Probe(
                    prometheus.TOOL,
                    expr,
                    lambda expr=expr: prometheus.instant_query(
                        ctx.clients.prometheus, expr, ctx.instant, timeout_s=ctx.settings.tool_timeout_s
                    ),
                )
            )
    return probes
