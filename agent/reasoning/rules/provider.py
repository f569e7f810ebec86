"""Provider rules: status pages, the calls a service makes to its provider, and the LLM gateway (LiteLLM).

| rule | signal | weight |
|---|---|---|
| status_page | a Statuspage indicator above `none` or an open incident (0.5: no API part degraded) | 1.0 (3 major) |
| status_page (against) | the provider's page says all systems operational (pages lag) | -0.5 |
| provider_errors | error/timeout share of a provider's calls above 5 %, doubled, ≥ 0.05 failing calls/s | 2.0 |
| rate_limited | rate_limited share of a provider's calls above 5 %, doubled, ≥ 0.05 calls/s | 2.0 |
| provider_healthy (against) | under 2 % of the provider's calls fail | -1.0 |
| gateway_failures | LiteLLM failures (≥ 0.01/s, doubled): 429 → rate limit, 5xx/408 → provider errors | 2.0 |
| gateway_state | LiteLLM deployment state 1 (partial outage) / 2 (outage) | 1.5 / 2.0 |
| quota_exhausted | LiteLLM remaining requests at 0 | 2.0 |
| provider_latency | p95 call latency doubled (same provider and model), no model change | 2.0 |
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import readings
from agent.reasoning.rules import rule

ERROR_STATUSES = {"error", "timeout"}
SELF_HOSTED = {"self-hosted", "selfhosted", "self_hosted", "vllm", "tgi", "local", "internal", "in-house",
               "ollama", "triton", "kserve"}
API_COMPONENT = re.compile(r"api|completion|chat|embedding|response|message|model|inference", re.I)
MIN_FAILING_RPS = 0.05
"""Fewer failing calls a second than this is a trickle (three a minute), not a provider incident."""


def provider_pages(situation: Situation) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(provider, Statuspage summary, evidence id) for every status page in the evidence."""
    for item in situation.ok():
        yield from _pages(item.data, "", item.id)


def _pages(node: Any, key: str, eid: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    if isinstance(node, Mapping):
        status = node.get("status")
        if isinstance(status, Mapping) and "indicator" in status:
            yield str(node.get("provider") or key), node, eid
            return
        if "indicator" in node and isinstance(node.get("indicator"), str):
            yield str(node.get("provider") or key), {"status": node, "incidents": node.get("incidents", [])}, eid
            return
        for k, child in node.items():
            yield from _pages(child, str(k) if isinstance(child, Mapping) else key, eid)
    elif isinstance(node, list):
        for child in node:
            yield from _pages(child, key, eid)


def used_providers(situation: Situation) -> set[str]:
    """Providers the alerting service calls, from its LLM metrics (empty when unknown)."""
    service = situation.service
    return {r.labels["provider"] for r in readings(situation, "llm_requests_total", "llm_request_duration_seconds")
            if r.labels.get("provider") and not is_self_hosted(r.labels["provider"])
            and (not service or r.labels.get("service") in (None, service))}


@rule("status_page")
def status_page(situation: Situation) -> Iterator[Finding]:
    used = used_providers(situation)
    for provider, page, eid in provider_pages(situation):
        if not provider or (used and provider not in used):
            continue
        indicator = str(page["status"].get("indicator", "none"))
        open_incidents = [i for i in page.get("incidents") or [] if isinstance(i, Mapping)
                          and i.get("status") not in ("resolved", "postmortem", "completed")]
        if indicator != "none" or open_incidents:
            weight = 3.0 if indicator in ("major", "critical") else 1.0
            title = open_incidents[0].get("name", "") if open_incidents else page["status"].get("description", "")
            degraded = [str(c.get("name", "")) for c in page.get("degraded_components") or [] if isinstance(c, Mapping)]
            if weight < 3.0 and degraded and not any(API_COMPONENT.search(name) for name in degraded):
                weight = 0.5  # a minor incident on parts of the provider we do not call
                title = f"{title} (degraded: {', '.join(degraded)}; the API is not)"
            yield Finding("status_page", "provider", "provider_outage", weight, {"provider": provider}, (eid,),
                          f"{provider} status page: {indicator} — {title}".rstrip(" —"))
        else:
            yield Finding("status_page", "provider", "provider_outage", -0.5, {"provider": provider}, (eid,),
                          f"{provider} status page says all systems operational")


@rule("provider_shares")
def provider_shares(situation: Situation) -> Iterator[Finding]:
    """The catalog's ready-made shares per provider: `provider_error_rate` and `rate_limited` (0..1)."""
    calls = calls_per_provider(situation)
    for name, rule_name, kind, what in (("provider_error_rate", "provider_errors", "provider_errors", "fail"),
                                        ("rate_limited", "rate_limited", "rate_limit", "are rate limited")):
        for r in readings(situation, name):
            provider = r.labels.get("provider", "")
            if not provider or is_self_hosted(provider):
                continue
            failing = r.value * calls.get(provider, float("inf"))
            if r.value > 0.05 and (r.baseline is None or r.value > 2 * r.baseline) and failing >= MIN_FAILING_RPS:
                yield Finding(rule_name, "provider", kind, 2.0, {"provider": provider}, (r.evidence,),
                              f"{r.value:.0%} of calls to {provider} {what}")


@rule("provider_healthy")
def provider_healthy(situation: Situation) -> Iterator[Finding]:
    """The service's calls to a provider succeed: under 2 % end error or timeout (from `llm_requests_total`)."""
    total: dict[str, float] = defaultdict(float)
    failed: dict[str, float] = defaultdict(float)
    ids: dict[str, str] = {}
    for r in readings(situation, "llm_requests_total"):
        provider = r.labels.get("provider", "")
        if provider:
            total[provider] += r.value
            ids[provider] = r.evidence
            if r.labels.get("status") in ERROR_STATUSES | {"rate_limited"}:
                failed[provider] += r.value
    for provider, calls in total.items():
        if calls > 0 and failed[provider] / calls < 0.02:
            yield Finding("provider_healthy", "provider", "provider_errors", -1.0, {"provider": provider},
                          (ids[provider],), f"calls to {provider} succeed ({failed[provider] / calls:.1%} fail)")


def calls_per_provider(situation: Situation) -> dict[str, float]:
    """Model calls per second per provider (the catalog's `llm_requests_total` signal)."""
    calls: dict[str, float] = defaultdict(float)
    for r in readings(situation, "llm_requests_total"):
        if r.labels.get("provider"):
            calls[r.labels["provider"]] += r.value
    return calls


def is_self_hosted(provider: str) -> bool:
    """Models served in the cluster (vLLM, TGI, ...) are infra, not a provider."""
    return provider.lower() in SELF_HOSTED


@rule("gateway_failures")
def gateway_failures(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "litellm_deployment_failure_responses_total"):
        provider = r.labels.get("api_provider", "")
        code = r.labels.get("exception_status", "")
        if not provider or r.value < 0.01 or r.value <= 2 * (r.baseline or 0.0):
            continue
        kind = "rate_limit" if code == "429" else "provider_errors" if code[:1] == "5" or code == "408" else ""
        if kind:
            yield Finding("gateway_failures", "provider", kind, 2.0, {"provider": provider}, (r.evidence,),
                          f"the gateway sees {code} failures from {provider}")
    for r in readings(situation, "litellm_deployment_state"):
        provider = r.labels.get("api_provider", "")
        if provider and r.value >= 1:
            yield Finding("gateway_state", "provider", "provider_outage", 1.5 if r.value < 2 else 2.0,
                          {"provider": provider}, (r.evidence,),
                          f"the gateway marks {provider} as {'partial outage' if r.value < 2 else 'outage'}")


@rule("quota_exhausted")
def quota_exhausted(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "litellm_remaining_requests_metric"):
        provider = r.labels.get("api_provider", "")
        if provider and r.value <= 0:
            yield Finding("quota_exhausted", "provider", "quota", 2.0, {"provider": provider}, (r.evidence,),
                          f"no requests left in the {provider} quota")


@rule("provider_latency")
def provider_latency(situation: Situation) -> Iterator[Finding]:
    """Model-call latency (p95 per provider and model) at least doubled against the baseline on the same
    series, with no model change to explain it (a new model's own latency is a model matter)."""
    from agent.reasoning.rules.llm import changed_domain

    if changed_domain(situation) == "model":
        return
    for r in readings(situation, "latency_p95"):
        provider = r.labels.get("provider", "")
        if provider and not is_self_hosted(provider) and r.baseline and r.value >= 2 * r.baseline and r.value > 1:
            yield Finding("provider_latency", "provider", "provider_latency", 2.0, {"provider": provider},
                          (r.evidence,), f"p95 latency of {provider} calls {r.baseline:.1f}s → {r.value:.1f}s")
