# ruff: noqa: E501
"""Scenario stories for the model, prompt and provider domains (see evals/generate.py)."""

from __future__ import annotations

from typing import Any

from scenario_kit import Builder, at, step_of
from workloads import gateway, llm_app, log_lines, timeline, workload

CHANGING = ["k8s.rollout_restart", "k8s.scale", "k8s.rollback", "k8s.cordon", "k8s.delete_pod",
            "provider.failover", "model.rollback", "prompt.rollback", "traffic.shed"]


def forbid_except(*allowed: str) -> list[str]:
    return [a for a in CHANGING if a not in allowed]


def _app(b: Builder, svc: str, ns: str, base: dict[str, Any], *phases: tuple[int, dict[str, Any]],
         replicas: int = 3, seed: int = 0) -> list[str]:
    llm_app(b, svc, ns, timeline(base, *phases), seed=seed)
    return workload(b, svc, ns, replicas, f"registry.local/{svc}:{base.get('image', '3.4.1')}",
                    lambda i: {}, revision=4 + seed % 5)


def _expr_ratio(metric: str, svc: str, ns: str, sel: str, threshold: float) -> str:
    return (f'sum(rate({metric}{{service="{svc}",namespace="{ns}"{sel}}}[5m])) / '
            f'sum(rate(llm_requests_total{{service="{svc}",namespace="{ns}"}}[5m])) > {threshold}')


# -- prompt ------------------------------------------------------------------------------------------------

def prompt_format_break(sid: str, svc: str, ns: str, base: dict[str, Any], new: str, reason: str, share: float,
                        onset: int, *, posted: bool, log_text: str, title: str, seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""Prompt {base['pver']} of {svc} was replaced by {new} {onset} minutes before the
        alert{' (the prompt registry posted the change)' if posted else ' (no change event: the new version shows only in '
        'the prompt_version label)'}; since then {share:.0%} of outputs fail the caller's check
        ({reason}). Model, provider and pods are unchanged and healthy.""", ["prompt"])
    s = step_of(onset)
    pods = _app(b, svc, ns, base, (s, {"pver": new, "vf": share, "vf_reason": reason}), seed=seed)
    expr = _expr_ratio("llm_output_validation_failures_total", svc, ns, "", 0.05)
    b.alert("LLMOutputValidationFailures", {"service": svc, "namespace": ns, "severity": "critical"},
            f"Output validation failures above 5% for {svc}", at(s + 4), expr)
    b.pod_log(ns, pods[0], "app", log_lines(b, log_text, s + 1, every=2))
    if posted:
        b.change(at(s), "prompt", svc, ns, svc.replace("-", "_"), base["pver"], new, "prompt-registry")
    b.expects("prompt", {"service": svc, "prompt_version": new}, ["prompt.rollback"],
              forbid_except("prompt.rollback"))
    return b


def prompt_tokens(sid: str, svc: str, ns: str, base: dict[str, Any], new: str, tin: float, tout: float,
                  onset: int, *, alert: str, title: str, seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""{svc} moved to prompt {new} {onset} minutes ago. The new prompt sends
        {tin:.0f} input and {tout:.0f} output tokens per request (before: {base['tin']:.0f} and {base['tout']:.0f}),
        so spend{' and latency' if alert == 'latency' else ''} jumped while the model and provider stayed the
        same.""", ["prompt"])
    s = step_of(onset)
    p50 = base.get("p50", 1.2) * (tout / base["tout"]) ** 0.8 if alert == "latency" else base.get("p50", 1.2)
    _app(b, svc, ns, base, (s, {"pver": new, "tin": tin, "tout": tout, "p50": p50}), seed=seed)
    if alert == "spend":
        expr = f'sum(rate(llm_cost_usd_total{{service="{svc}",namespace="{ns}"}}[15m])) * 3600 > 40'
        b.alert("LLMSpendRateHigh", {"service": svc, "namespace": ns, "severity": "warning"},
                f"LLM spend of {svc} is above 40 USD/hour", at(s + 8), expr)
    else:
        expr = (f'histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{{service="{svc}",'
                f'namespace="{ns}"}}[5m]))) > 8')
        b.alert("LLMLatencyHigh", {"service": svc, "namespace": ns, "severity": "warning"},
                f"p95 model latency of {svc} above 8s", at(s + 6), expr)
    b.change(at(s), "prompt", svc, ns, svc.replace("-", "_"), base["pver"], new, "ci")
    b.expects("prompt", {"service": svc, "prompt_version": new}, ["prompt.rollback"],
              forbid_except("prompt.rollback", "traffic.shed"))
    return b


def prompt_quality(sid: str, svc: str, ns: str, base: dict[str, Any], new: str, effect: str, onset: int, *,
                   title: str, seed: int = 0, metric: str = "relevance", drop: float = 0.15) -> Builder:
    """effect: eval (score drop), refused (refusals up), guardrail (blocks up)."""
    b = Builder(sid, title, f"""{svc} switched to prompt {new} {onset} minutes ago;
        {'the online ' + metric + ' score fell by ' + format(drop, '.2f') if effect == 'eval' else
         'the share of refused answers rose from under 1% to 17%' if effect == 'refused' else
         'the ' + base.get('guardrail', 'brand_safety') + ' guardrail started blocking outputs'}. The model version
        and the provider did not change.""", ["prompt"])
    s = step_of(onset)
    evals = dict(base.get("evals", {"relevance": 0.86}))
    change: dict[str, Any] = {"pver": new}
    if effect == "eval":
        change["evals"] = {k: (v - drop if k == metric else v) for k, v in evals.items()}
        name, expr = "LLMEvalScoreLow", (f'min(llm_eval_score{{service="{svc}",namespace="{ns}",metric="{metric}"}}) '
                                         f'< {evals[metric] - drop / 2:.2f}')
        summary = f"Online {metric} score of {svc} below target"
    elif effect == "refused":
        change["refused"] = 0.17
        name, expr = "LLMRefusalRateHigh", _expr_ratio("llm_requests_total", svc, ns, ',status="refused"', 0.08)
        summary = f"{svc}: more than 8% of model answers are refusals"
    else:
        change["gb"] = 9.0
        name = "LLMGuardrailBlocksHigh"
        expr = f'sum(rate(llm_guardrail_blocks_total{{service="{svc}",namespace="{ns}"}}[5m])) * 60 > 3'
        summary = f"Guardrail blocks for {svc} above 3 per minute"
    _app(b, svc, ns, {**base, "evals": evals}, (s, change), seed=seed)
    b.alert(name, {"service": svc, "namespace": ns, "severity": "warning"}, summary, at(s + 7), expr)
    b.change(at(s), "prompt", svc, ns, svc.replace("-", "_"), base["pver"], new, "ci")
    b.expects("prompt", {"service": svc, "prompt_version": new}, ["prompt.rollback"],
              forbid_except("prompt.rollback"))
    return b


def prompt_injection(sid: str, svc: str, ns: str, base: dict[str, Any], onset: int, *, title: str,
                     seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""A burst of user inputs carrying an injection pattern ("ignore previous
        instructions ...") started {onset} minutes ago; the prompt_injection guardrail of {svc} blocks them.
        Nothing was deployed and the prompt version is unchanged: the prompt is under attack, not broken.""",
                ["prompt"])
    s = step_of(onset)
    pods = _app(b, svc, ns, {**base, "guardrail": "prompt_injection", "gb": 0.1}, (s, {"gb": 14.0}), seed=seed)
    expr = f'sum(rate(llm_guardrail_blocks_total{{service="{svc}",namespace="{ns}"}}[5m])) * 60 > 5'
    b.alert("LLMGuardrailBlocksHigh", {"service": svc, "namespace": ns, "severity": "warning",
                                       "guardrail": "prompt_injection"},
            f"prompt_injection guardrail blocking more than 5 inputs/min on {svc}", at(s + 5), expr)
    b.pod_log(ns, pods[1], "app", log_lines(
        b, 'WARN guardrail=prompt_injection blocked input request_id={id}: matched "ignore (all )?previous '
           'instructions"', s, every=1))
    b.expects("prompt", {"service": svc}, ["traffic.shed", "notify.escalate"],
              forbid_except("traffic.shed"))
    return b


# -- model -------------------------------------------------------------------------------------------------

def model_change(sid: str, svc: str, ns: str, base: dict[str, Any], new: dict[str, Any], effect: str, onset: int,
                 *, title: str, posted: bool = True, seed: int = 0) -> Builder:
    """effect: eval, refused, guardrail, latency, cost, feedback, validation."""
    label = new.get("model", base["model"]) + "@" + new["mver"]
    b = Builder(sid, title, f"""{svc} started calling {label} {onset} minutes ago (before:
        {base['model']}@{base['mver']}){'' if posted else ', an upgrade the provider alias rolled out without a '
        'change event'}. The prompt version is unchanged; the {effect} signal moved with the model.""", ["model"])
    s = step_of(onset)
    ch: dict[str, Any] = dict(new)
    evals = dict(base.get("evals", {"relevance": 0.86, "faithfulness": 0.9}))
    if effect == "eval":
        ch["evals"] = {k: v - 0.14 for k, v in evals.items()}
        name = "LLMEvalScoreLow"
        metric = next(iter(evals))
        expr = f'min(llm_eval_score{{service="{svc}",namespace="{ns}",metric="{metric}"}}) < {evals[metric] - 0.07:.2f}'
        summary = f"Online {metric} score of {svc} below target"
    elif effect == "refused":
        ch["refused"] = 0.15
        name, expr = "LLMRefusalRateHigh", _expr_ratio("llm_requests_total", svc, ns, ',status="refused"', 0.08)
        summary = f"{svc}: refusals above 8%"
    elif effect == "guardrail":
        ch["gb"] = 7.5
        name = "LLMGuardrailBlocksHigh"
        expr = f'sum(rate(llm_guardrail_blocks_total{{service="{svc}",namespace="{ns}"}}[5m])) * 60 > 3'
        summary = f"Guardrail blocks for {svc} above 3 per minute"
    elif effect == "latency":
        ch["p50"] = base.get("p50", 1.2) * 5
        name = "LLMLatencyHigh"
        expr = (f'histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{{service="{svc}",'
                f'namespace="{ns}"}}[5m]))) > 6')
        summary = f"p95 model latency of {svc} above 6s"
    elif effect == "cost":
        name = "LLMSpendRateHigh"
        expr = f'sum(rate(llm_cost_usd_total{{service="{svc}",namespace="{ns}"}}[15m])) * 3600 > 25'
        summary = f"LLM spend of {svc} above 25 USD/hour"
    elif effect == "feedback":
        ch["neg"] = 0.31
        ch["evals"] = {k: v - 0.08 for k, v in evals.items()}
        name = "LLMNegativeFeedbackHigh"
        expr = (f'sum(rate(llm_feedback_total{{service="{svc}",namespace="{ns}",sentiment="negative"}}[30m])) / '
                f'sum(rate(llm_feedback_total{{service="{svc}",namespace="{ns}"}}[30m])) > 0.2')
        summary = f"More than 20% negative feedback on {svc}"
    else:
        ch["vf"], ch["vf_reason"] = 0.12, "invalid_enum"
        name, expr = "LLMOutputValidationFailures", _expr_ratio("llm_output_validation_failures_total", svc, ns, "",
                                                                 0.05)
        summary = f"Output validation failures above 5% for {svc}"
    _app(b, svc, ns, {**base, "evals": evals}, (s, ch), seed=seed)
    b.alert(name, {"service": svc, "namespace": ns, "severity": "warning"}, summary, at(s + 9), expr)
    if posted:
        b.change(at(s), "model", svc, ns, new.get("model", base["model"]), base["mver"], new["mver"], "ml-platform")
    b.expects("model", {"service": svc, "model_version": new["mver"]}, ["model.rollback"],
              forbid_except("model.rollback"))
    return b


def model_drift(sid: str, svc: str, ns: str, base: dict[str, Any], metric: str, drop: float, *, title: str,
                seed: int = 0) -> Builder:
    b = Builder(sid, title, f"""The {metric} score of {svc} has slid by {drop:.2f} over two hours with no
        deploy, no model or prompt change and a healthy provider: the inputs drifted (new topics, a new customer
        segment). There is nothing to roll back; a human has to look.""", ["model", "drift"])
    evals = dict(base.get("evals", {metric: 0.88}))
    phases = [(i, {"evals": {**evals, metric: evals[metric] - drop * i / 150}}) for i in range(0, 151, 10)]
    _app(b, svc, ns, {**base, "evals": evals}, *phases, seed=seed)
    expr = f'avg(llm_eval_score{{service="{svc}",namespace="{ns}",metric="{metric}"}}) < {evals[metric] - drop * 0.8:.2f}'
    b.alert("LLMEvalScoreLow", {"service": svc, "namespace": ns, "severity": "warning"},
            f"Online {metric} score of {svc} below target", "-6m", expr)
    b.expects("model", {"service": svc}, ["notify.escalate"], CHANGING)
    return b


# -- provider ----------------------------------------------------------------------------------------------

PROVIDER_FAULTS: dict[str, dict[str, Any]] = {
    "outage": {"error": 0.62, "p50": 3.0},
    "overloaded": {"error": 0.35, "p50": 2.5},
    "rate_limited": {"rate_limited": 0.28},
    "quota": {"rate_limited": 0.97},
    "timeout": {"timeout": 0.22, "p50": 9.0},
    "latency": {"p50": 11.0, "timeout": 0.03},
    "deprecated": {"error": 1.0},
}
PROVIDER_LOGS = {
    "outage": "ERROR {provider} call failed: 503 Service Unavailable request_id=req_{id}",
    "overloaded": "ERROR {provider} call failed: 529 overloaded_error: Overloaded request_id=req_{id}",
    "rate_limited": "WARN {provider} 429 rate_limit_error: Rate limit reached for requests per min request_id=req_{id}",
    "quota": "ERROR {provider} 429 insufficient_quota: You exceeded your current quota, please check your plan "
             "and billing details",
    "timeout": "ERROR {provider} request timed out after 30s (read timeout) request_id=req_{id}",
    "latency": "WARN slow upstream: {provider} took {ms}00 ms for chat completion",
    "deprecated": "ERROR {provider} 404 model_not_found: The model `{model}` has been deprecated and is no longer "
                  "available",
}
ACCEPT = {"outage": ["provider.failover"], "overloaded": ["provider.failover"],
          "rate_limited": ["provider.failover", "traffic.shed"], "quota": ["provider.failover", "traffic.shed"],
          "timeout": ["provider.failover"], "latency": ["provider.failover"], "deprecated": ["provider.failover"]}


def provider_fault(sid: str, fault: str, services: list[tuple[str, str, dict[str, Any]]], provider: str,
                   onset: int, *, indicator: str, title: str, alert: str = "errors", seed: int = 0,
                   via_gateway: bool = False, bystander: tuple[str, str, dict[str, Any]] | None = None,
                   cascade: bool = True) -> Builder:
    """Services calling `provider` fail (fault) from `onset`; the alert fires on the first service."""
    svc, ns, base = services[0]
    tags = ["provider"] + (["cascade"] if cascade else [])
    b = Builder(sid, title, f"""{provider} started failing ({fault.replace('_', ' ')}) {onset} minutes ago.
        {', '.join(s for s, _, _ in services)} call{'s' if len(services) == 1 else ''} it and
        {'see' if len(services) > 1 else 'sees'} the errors; the alert fires on {svc}, but the service itself is
        healthy: pods, prompt and model are unchanged. The status page says
        "{indicator}".{' Another service on a different provider is fine.' if bystander else ''}""", tags)
    s = step_of(onset)
    for k, (name, namespace, params) in enumerate(services):
        pods = _app(b, name, namespace, params, (s, PROVIDER_FAULTS[fault]), seed=seed + k)
        text = PROVIDER_LOGS[fault].replace("{provider}", provider).replace("{model}", params["model"])
        b.pod_log(namespace, pods[0], "app", log_lines(b, text, s, every=1))
    if bystander:
        _app(b, bystander[0], bystander[1], bystander[2], seed=seed + 7)
    if via_gateway:
        def gw(i: int, name: str) -> dict[str, Any]:
            bad = i >= s and name == provider
            return {"rpm": 300.0, "fail": 0.6 if bad else 0.003, "exception_status": 503 if bad else 500,
                    "state": 2 if bad else 0, "remaining": 4000.0, "spend_per_min": 0.4}
        gateway(b, ns, {provider: (provider, base["model"]), "fallback": ("anthropic" if provider != "anthropic"
                                                                         else "openai", "fallback-model")}, gw)
    if alert == "errors":
        expr = (f'sum(rate(llm_requests_total{{service="{svc}",namespace="{ns}",status=~"error|timeout|rate_limited"}}'
                f'[5m])) / sum(rate(llm_requests_total{{service="{svc}",namespace="{ns}"}}[5m])) > 0.1')
        b.alert("LLMErrorRateHigh", {"service": svc, "namespace": ns, "severity": "critical"},
                f"More than 10% of model calls from {svc} fail", at(s + 3), expr)
    elif alert == "http":
        expr = (f'sum(rate(http_requests_total{{service="{svc}",namespace="{ns}",code=~"5.."}}[5m])) / '
                f'sum(rate(http_requests_total{{service="{svc}",namespace="{ns}"}}[5m])) > 0.05')
        b.alert("HTTPErrorRateHigh", {"service": svc, "namespace": ns, "severity": "critical"},
                f"{svc} answers more than 5% of requests with 5xx", at(s + 4), expr)
    else:
        expr = (f'histogram_quantile(0.95, sum by (le) (rate(llm_request_duration_seconds_bucket{{service="{svc}",'
                f'namespace="{ns}"}}[5m]))) > 10')
        b.alert("LLMLatencyHigh", {"service": svc, "namespace": ns, "severity": "warning"},
                f"p95 model latency of {svc} above 10s", at(s + 5), expr)
    if len(services) > 1:
        other, ons, _ = services[1]
        b.alerts.append({**b.alerts[0], "labels": {**b.alerts[0]["labels"], "service": other, "namespace": ons},
                         "annotations": {"summary": b.alerts[0]["annotations"]["summary"].replace(svc, other)}})
    incidents = [] if indicator == "none" else [{
        "name": {"latency": "Elevated latency on API requests", "timeout": "Elevated latency and timeouts",
                 "deprecated": "Model retirement"}.get(fault, "Elevated error rates on the API"),
        "status": "investigating", "impact": indicator, "created_at": at(s + 6), "updated_at": at(s + 9),
        "incident_updates": [{"status": "investigating", "body": "We are investigating elevated errors.",
                              "created_at": at(s + 9)}]}]
    components = [{"name": "API", "status": "partial_outage" if indicator in ("major", "critical")
                   else "degraded_performance" if indicator == "minor" else "operational"}]
    descriptions = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                    "major": "Partial System Outage", "critical": "Major System Outage"}
    b.provider(provider, indicator, descriptions[indicator], incidents, components)
    root: dict[str, str] = {"provider": provider}
    if fault == "deprecated":
        root["model"] = base["model"]
    b.expects("provider", root, ACCEPT[fault],
              ["k8s.rollout_restart", "k8s.scale", "k8s.rollback", "k8s.cordon", "k8s.delete_pod", "prompt.rollback",
               "model.rollback"])
    return b
