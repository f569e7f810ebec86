"""Which tools an incident calls: the plan the `investigate` node runs in parallel.

From the incident's labels (service, namespace, pod, deployment) the plan asks for: the alert's own
expression, the infra and LLM signals of the catalog with a baseline before the onset, the gateway, the
Kubernetes workload (pods, events, rollouts, nodes) and its logs, CloudWatch logs when log groups are
configured, every configured provider's status page, and the change timeline. Each probe is one blocking
call; the node runs them in threads under the per-call timeout and the overall budget.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from agent.context import Context
from agent.errors import ConfigError
from agent.models import Evidence, Incident
from tools import (
    alert_window,
    changes,
    cloudwatch,
    dependencies,
    kubernetes,
    llm_signals,
    logs,
    prometheus,
    provider_status,
)
from tools.alert_rules import find_rule
from tools.catalog import Catalog, Scope, load_catalog, signal_set
from tools.result import result

INFRA_TOOL = "infra_signals"
BASELINE_OFFSET = timedelta(hours=1)
"""Signals are compared with their value this long before the alert's onset."""


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


def incident_labels(incident: Incident) -> dict[str, str]:
    """The incident's common labels, completed from its first firing alert."""
    merged: dict[str, str] = {}
    for alert in (incident.firing or incident.alerts)[:1]:
        merged.update(alert.labels)
    merged.update(incident.labels)
    return merged


def onset_of(incident: Incident, instant: datetime) -> datetime:
    """When the trouble started: the earliest start of the incident's alerts (the instant without alerts)."""
    starts = [a.starts_at for a in incident.alerts if a.starts_at <= instant]
    return min(starts) if starts else instant


@functools.lru_cache(maxsize=8)
def _catalog(path: str | None) -> Catalog:
    return load_catalog(path)


def _failing(tool: str, query: str, message: str) -> Probe:
    return Probe(tool, query, lambda: result(tool, "error", query, error=message))


def _alert_window(prom: object, alertname: str, expr: str, onset: datetime, at: datetime,
                  timeout_s: float) -> Evidence:
    """The alert's condition over its window, sized by its rule's `for` and interval when Prometheus has it."""
    rule = find_rule(prom, alertname, expr, timeout_s=timeout_s)
    return alert_window.alert_window(prom, expr, onset, at, for_s=rule.for_s if rule else 0.0,
                                     step_s=rule.interval_s if rule and rule.interval_s else
                                     alert_window.DEFAULT_STEP_S, timeout_s=timeout_s)


def plan(incident: Incident, ctx: Context) -> list[Probe]:
    settings, clients, at = ctx.settings, ctx.clients, ctx.instant
    timeout = settings.tool_timeout_s
    labels = incident_labels(incident)
    service = labels.get("service") or labels.get("app") or labels.get("deployment") or ""
    namespace = labels.get("namespace", "")
    onset = onset_of(incident, at)
    probes: list[Probe] = []

    exprs: dict[str, str] = {}  # alerts that share an expression get one probe
    for alert in incident.firing or incident.alerts:
        expr = alert_expression(alert.generator_url)
        if expr:
            exprs.setdefault(expr, alert.labels.get("alertname", ""))
    for expr, alertname in exprs.items():
        probes.append(Probe(prometheus.TOOL, expr, functools.partial(
            prometheus.instant_query, clients.prometheus, expr, at, timeout_s=timeout)))
        probes.append(Probe(alert_window.TOOL, f"{alertname or 'alert'}: {expr}", functools.partial(
            _alert_window, clients.prometheus, alertname, expr, onset, at, timeout)))

    try:
        catalog = _catalog(str(settings.signal_catalog) if settings.signal_catalog else None)
    except ConfigError as exc:
        for tool in (INFRA_TOOL, llm_signals.TOOL, provider_status.GATEWAY_TOOL, changes.TOOL):
            probes.append(_failing(tool, "signal catalog", str(exc)))
        catalog = None
    if catalog is not None:
        workload = labels.get("deployment") or labels.get("statefulset") or service
        scope = Scope(service=service, namespace=namespace, deployment=workload,
                      pod_prefix=f"{workload}-" if workload else labels.get("pod", ""))
        baseline = onset - BASELINE_OFFSET
        infra = [*catalog.names("infra"), *catalog.names("service")]
        probes.append(Probe(INFRA_TOOL, f"infra and service signals of {namespace}/{service}", functools.partial(
            signal_set, clients.prometheus, catalog, infra, scope, at, baseline, tool=INFRA_TOOL, timeout_s=timeout)))
        if service:
            probes.append(Probe(llm_signals.TOOL, f"LLM signals of {namespace}/{service}", functools.partial(
                llm_signals.llm_signals, clients.prometheus, catalog, service, namespace, at, onset,
                timeout_s=timeout)))
        probes.append(Probe(provider_status.GATEWAY_TOOL, "gateway signals", functools.partial(
            provider_status.gateway, clients.prometheus, catalog, at, onset, service=service, namespace=namespace,
            timeout_s=timeout)))
        if service:
            probes.append(Probe(dependencies.TOOL, f"dependencies of {namespace}/{service}", functools.partial(
                dependencies.dependencies, clients.prometheus, service, namespace, onset, at,
                static=settings.service_dependencies, timeout_s=timeout)))
        probes.append(Probe(changes.TOOL, f"changes of {namespace}/{service}", functools.partial(
            changes.changes, ctx.store, clients.prometheus, clients.kubernetes, catalog, service, namespace, labels,
            at, timeout_s=timeout)))

    if namespace and (service or labels.get("pod") or labels.get("deployment") or labels.get("statefulset")):
        k8s_tools: list[tuple[str, Callable[..., Evidence]]] = [
            ("kubernetes.workload", kubernetes.workload), ("kubernetes.pods", kubernetes.pods),
            ("kubernetes.events", kubernetes.events), ("kubernetes.rollouts", kubernetes.rollouts),
            ("kubernetes.nodes", kubernetes.nodes), (logs.TOOL, logs.pod_logs)]
        target = f"{namespace}/{service or labels.get('pod', '')}"
        for name, fn in k8s_tools:
            probes.append(Probe(name, f"{name} {target}", functools.partial(
                fn, clients.kubernetes, namespace, labels, at, timeout_s=timeout)))

    elif labels.get("node"):  # a node alert: the node itself
        probes.append(Probe("kubernetes.nodes", f"kubernetes.nodes {labels['node']}", functools.partial(
            kubernetes.nodes, clients.kubernetes, namespace, labels, at, timeout_s=timeout)))

    if settings.cloudwatch_log_groups:
        probes.append(Probe(cloudwatch.TOOL, f"CloudWatch {settings.cloudwatch_log_groups}", functools.partial(
            cloudwatch.cloudwatch_logs, clients.cloudwatch_logs, settings.cloudwatch_log_groups, at,
            timeout_s=timeout)))

    for provider, base_url in sorted(settings.provider_status_urls.items()):
        probes.append(Probe(provider_status.TOOL, f"GET {provider_status.summary_url(base_url)}", functools.partial(
            provider_status.provider_status, clients.http, provider, base_url, at, timeout_s=timeout)))
    return probes


async def gather(probes: list[Probe], *, timeout_s: float, budget_s: float) -> list[Evidence]:
    """Run every probe at once, each in its own thread, cut off at `timeout_s`, all within `budget_s`.

    Returns one Evidence per probe, in order. A probe that raises, times out or outlives the budget becomes
    an `error` naming the cause; nothing raises. Threads of probes that were cut off are left to finish on
    their own (a blocking call cannot be interrupted) and never delay the answer.
    """
    if not probes:
        return []
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="probe")

    async def one(probe: Probe) -> Evidence:
        started = time.perf_counter()
        try:
            found = await asyncio.wait_for(loop.run_in_executor(pool, probe.call), timeout=timeout_s)
        except TimeoutError:
            return result(probe.tool, "error", probe.query, error=f"timed out after {timeout_s:g} s",
                          duration_ms=(time.perf_counter() - started) * 1000)
        except Exception as exc:  # a tool must never take the graph down
            return result(probe.tool, "error", probe.query, error=f"{type(exc).__name__}: {exc}",
                          duration_ms=(time.perf_counter() - started) * 1000)
        return found.model_copy(update={"duration_ms": (time.perf_counter() - started) * 1000})

    tasks = [asyncio.ensure_future(one(p)) for p in probes]
    try:
        done, _ = await asyncio.wait(tasks, timeout=budget_s)
        out = []
        for probe, task in zip(probes, tasks, strict=True):
            if task in done:
                out.append(task.result())
            else:
                task.cancel()
                out.append(result(probe.tool, "error", probe.query, error=f"cut off by the {budget_s:g} s budget",
                                  duration_ms=budget_s * 1000))
        return out
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
