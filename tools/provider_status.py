"""LLM provider health: each provider's public status page (Statuspage v2) and the gateway's error metrics.

A status page that cannot be read is `error`, never "healthy": no news is not good news.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.models import Evidence
from tools import prometheus
from tools.catalog import Catalog, Scope, signal_set
from tools.result import result

TOOL = "provider_status"
GATEWAY_TOOL = "gateway"
OPEN = ("investigating", "identified", "monitoring", "in_progress", "scheduled", "verifying")


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore")

    indicator: str
    description: str = ""


class _Incident(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    status: str = ""
    impact: str = ""
    started_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class _Component(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    status: str = ""


class _Summary(BaseModel):
    """The parts of a Statuspage v2 summary that matter (the page is untrusted input)."""

    model_config = ConfigDict(extra="ignore")

    status: _Status
    incidents: list[_Incident] = []
    components: list[_Component] = []


def summary_url(base: str) -> str:
    return base.rstrip("/") + "/api/v2/summary.json"


def provider_status(http: Any, provider: str, base_url: str, at: datetime, *, timeout_s: float = 10.0) -> Evidence:
    """The public status page of one LLM provider: overall indicator, open incidents, degraded components.

    `status.indicator` is `none` (operational), `minor`, `major` or `critical`. Use it to confirm or rule out
    a provider outage; compare with the service's own error rates per provider. A page that is unreachable,
    slow or unreadable is reported as `error` — it says nothing about the provider's health.
    """
    url = summary_url(base_url)
    query = f"GET {url}"
    if http is None:
        return result(TOOL, "error", query, error="no HTTP client configured")
    try:
        response = http.get(url, timeout=timeout_s)
    except httpx.TimeoutException:
        return result(TOOL, "error", query, error=f"status page of {provider} timed out after {timeout_s:g} s")
    except Exception as exc:
        return result(TOOL, "error", query, error=f"status page of {provider} unreachable: {type(exc).__name__}: "
                                                   f"{str(exc)[:200]}")
    if response.status_code != 200:
        return result(TOOL, "error", query, error=f"status page of {provider} answered HTTP {response.status_code}")
    try:
        page = _Summary.model_validate_json(response.content)
    except ValidationError as exc:
        return result(TOOL, "error", query, error=f"status page of {provider} is not a Statuspage v2 summary: "
                                                   f"{exc.errors()[0]['msg']}")
    incidents = [{"name": i.name, "status": i.status, "impact": i.impact,
                  "started_at": i.started_at or i.created_at, "updated_at": i.updated_at}
                 for i in page.incidents if i.status in OPEN or not i.status]
    degraded = [{"name": c.name, "status": c.status} for c in page.components if c.status not in ("", "operational")]
    data = {"provider": provider, "url": url,
            "status": {"indicator": page.status.indicator, "description": page.status.description},
            "incidents": incidents, "degraded_components": degraded}
    healthy = page.status.indicator == "none" and not incidents
    summary = f"{provider}: {page.status.description or page.status.indicator}" + (
        "" if healthy else f"; {len(incidents)} open incidents, {len(degraded)} degraded components")
    return result(TOOL, "ok", query, data=data, summary=summary)


def gateway(prom: Any, catalog: Catalog, at: datetime, onset: datetime, *, service: str = "", namespace: str = "",
            baseline_offset_s: float = 3600.0, window_s: float = 300.0, timeout_s: float = 10.0) -> Evidence:
    """The LLM gateway's (LiteLLM) view of each provider: failures by exception status, deployment state,
    remaining rate-limit requests and spend, now against one hour before the onset.

    429s point to rate limiting, 5xx and timeouts to a provider outage, `gateway_state` 1 or 2 to a partial or
    full outage the gateway detected, `gateway_remaining_requests` at 0 to an exhausted quota. With a service,
    only the providers it calls (its `llm_requests_total` in the last hour) are shown; `data["providers"]`
    names them (empty: every provider).
    """
    providers = used_providers(prom, catalog, service, namespace, at, timeout_s) if service else ()
    found = signal_set(prom, catalog, catalog.names("gateway"), Scope(providers=providers), at,
                       onset - timedelta(seconds=baseline_offset_s), tool=GATEWAY_TOOL, window_s=window_s,
                       timeout_s=timeout_s)
    if found.data is None:
        return found
    return found.model_copy(update={"data": {**found.data, "providers": list(providers)}})


def used_providers(prom: Any, catalog: Catalog, service: str, namespace: str, at: datetime,
                   timeout_s: float) -> tuple[str, ...]:
    """The providers a service called in the hour before the instant (empty when unknown or on failure)."""
    label = catalog.label("provider")
    selector = catalog.selector(service=service, namespace=namespace)
    promql = f"count by ({label}) (count_over_time({catalog.metrics['llm_requests']}{{{selector}}}[1h]))"
    try:
        series = prometheus.query_vector(prom, promql, at, timeout_s)
    except prometheus.QueryFailed:
        return ()
    return tuple(sorted({s["labels"][label] for s in series if s["labels"].get(label)}))
