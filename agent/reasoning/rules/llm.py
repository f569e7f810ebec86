"""Model and prompt rules: the LLM application signals (opsmedic's conventions, DESIGN.md section 4).

A symptom is pinned on a version when the series carry version labels: the version whose series is bad while
another's is fine (or whose value rose against its baseline) is the suspect. Which domain it points to
follows the label that tells the bad series from the good: prompt_version → prompt, model_version → model.
With no version to blame, eval decay and refusals point to the model (drift without a change).

| rule | signal | domain | weight |
|---|---|---|---|
| output_validation | validation failures above 2 % of a prompt version's calls, 3× the baseline | prompt | 1.5 |
| token_bloat | input tokens per prompt version up 1.5× or more | prompt | 1.5 |
| eval_regression | eval score down 0.1+ on a new version against the metric's best | by label | 2.0 |
| eval_drift | eval score down 0.05+ on the same series (no version changed) | model | 2.5 |
| refusals | refused share of calls above 5 % | model | 1.5 |
| guardrail_blocks | guardrail blocks up 3× or more, at least 0.05/s | model after a model change, else prompt | 1.5 |
| alert_symptom | the alert's condition on an LLM quality metric holds, after a prompt or model change | changed | 1.5 |

Symptoms that a prompt or a model could both cause (format failures, refusals, evals) go to whichever of the
two changed shortly before the onset (`changed_domain`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import Reading, readings
from agent.reasoning.rules import rule

EVAL_DROP = 0.1
DRIFT_DROP = 0.05
MIN_BLOCKS_RPS = 0.05
"""Guardrail blocks below this rate (three a minute) are background noise."""


def changed_domain(situation: Situation) -> str | None:
    """`prompt` or `model` when exactly that of the alerting service changed shortly before the onset: quality
    symptoms (format, refusals, guardrails, evals, tokens) then point to it; None when neither or both did."""
    from agent.reasoning.rules.changes import SLACK, WINDOW, domain_of

    seen = set()
    for change in situation.changes:
        gap = situation.before_onset(change.at)
        if -SLACK <= gap <= WINDOW and change.service in ("", situation.service):
            domain = domain_of(change)
            if domain in ("prompt", "model"):
                seen.add(domain)
    return seen.pop() if len(seen) == 1 else None


def _service_entity(r: Reading, situation: Situation, *keys: str) -> dict[str, str]:
    ent = {"service": r.labels.get("service") or situation.service,
           "namespace": r.labels.get("namespace") or situation.namespace}
    ent |= {k: r.labels[k] for k in keys if r.labels.get(k)}
    return {k: v for k, v in ent.items() if v}


def _calls_by(situation: Situation, label: str) -> dict[str, float]:
    """Model calls per second per value of `label` (from the catalog's `llm_requests_total` signal)."""
    calls: dict[str, float] = defaultdict(float)
    for r in readings(situation, "llm_requests_total"):
        calls[r.labels.get(label, "")] += r.value
    return calls


@rule("output_validation")
def output_validation(situation: Situation) -> Iterator[Finding]:
    """Validation failures on a prompt version: above 2 % of its calls (when calls are known), and at least
    three times the baseline rate (a chronic low rate is not an incident)."""
    calls = _calls_by(situation, "prompt_version")
    for r in readings(situation, "llm_output_validation_failures_total", "output_validation_failures"):
        version = r.labels.get("prompt_version", "")
        share = r.value / calls[version] if calls.get(version) else None
        if r.value <= 0 or (share is not None and share < 0.02) or (r.baseline is not None and r.rise < 3):
            continue
        ent = _service_entity(r, situation, "prompt_version")
        domain = "model" if changed_domain(situation) == "model" else "prompt"
        if domain == "model":
            ent = _service_entity(r, situation)
        how_much = f"{share:.0%} of calls" if share is not None else f"{r.value:.2g}/s"
        yield Finding("output_validation", domain, f"{domain}_format", 1.5, ent, (r.evidence,),  # type: ignore[arg-type]
                      f"{how_much} fail validation ({r.labels.get('reason', 'format')}) on prompt {version or '?'}")


@rule("token_bloat")
def token_bloat(situation: Situation) -> Iterator[Finding]:
    by_version: dict[str, list[Reading]] = defaultdict(list)
    for r in readings(situation, "llm_tokens_total", "tokens_per_request"):
        if r.labels.get("direction", "input") == "input":
            by_version[r.labels.get("prompt_version", "")].append(r)
    for version, rs in by_version.items():
        for r in rs:
            if r.baseline is not None and r.rise >= 1.5:
                yield Finding("token_bloat", "prompt", "token_bloat", 1.5,
                              _service_entity(r, situation, "prompt_version"), (r.evidence,),
                              f"input tokens on prompt {version or '?'} up {r.rise:.1f}×")
    values = {v: max(r.value for r in rs) for v, rs in by_version.items() if v and rs}
    if len(values) >= 2:
        worst = max(values, key=lambda v: values[v])
        rest = min(values.values())
        if rest > 0 and values[worst] / rest >= 1.5:
            r = by_version[worst][0]
            yield Finding("token_bloat", "prompt", "token_bloat", 1.5,
                          _service_entity(r, situation, "prompt_version"), (r.evidence,),
                          f"prompt {worst} uses {values[worst] / rest:.1f}× the input tokens of the other version")


@rule("eval_regression")
def eval_regression(situation: Situation) -> Iterator[Finding]:
    """Per eval metric: the worst series now against the best the metric had (at the baseline, or now on
    another version). A drop of EVAL_DROP or more on a new label value pins the version whose label differs
    (prompt_version → prompt, model_version → model); the same series falling is drift (model)."""
    by_metric: dict[str, list[Reading]] = defaultdict(list)
    for r in readings(situation, "llm_eval_score", "eval_score"):
        by_metric[r.labels.get("metric", "")].append(r)
    for metric, rs in by_metric.items():
        worst = min(rs, key=lambda r: r.value)
        with_baseline = [r for r in rs if r.baseline is not None]
        reference = (max(with_baseline, key=lambda r: r.baseline or 0.0) if with_baseline
                     else max(rs, key=lambda r: r.value))
        before = reference.baseline if reference.baseline is not None else reference.value
        same_series = reference is worst
        if before - worst.value < (DRIFT_DROP if same_series else EVAL_DROP):
            continue
        what = f"eval {metric or 'score'} {before:.2f} → {worst.value:.2f}"
        pinned = False
        for label, domain in (("prompt_version", "prompt"), ("model_version", "model")):
            if worst.labels.get(label) and worst.labels.get(label) != reference.labels.get(label):
                keys = ("prompt_version",) if domain == "prompt" else ("model", "model_version")
                pinned = True
                yield Finding("eval_regression", domain, "eval_regression", 2.0,  # type: ignore[arg-type]
                              _service_entity(worst, situation, *keys), (worst.evidence,),
                              f"{what} on {label} {worst.labels[label]} (was {reference.labels.get(label, '?')})")
        if not pinned:
            domain = changed_domain(situation) or "model"
            yield Finding("eval_drift", domain, "eval_drift" if domain == "model" else "eval_regression",  # type: ignore[arg-type]
                          2.5, _service_entity(worst, situation, *(("model",) if domain == "model" else ())),
                          (worst.evidence,), f"{what} on the same series")


@rule("refusals")
def refusals(situation: Situation) -> Iterator[Finding]:
    total: dict[str, float] = defaultdict(float)
    refused: dict[str, Reading] = {}
    for r in readings(situation, "llm_requests_total"):
        version = r.labels.get("model_version", "")
        total[version] += r.value
        if r.labels.get("status") == "refused" and r.value > 0:
            refused[version] = r
    for version, r in refused.items():
        share = r.value / total[version] if total[version] else 0.0
        if share > 0.05 and (r.baseline is None or r.rise >= 2):
            domain = "prompt" if changed_domain(situation) == "prompt" else "model"
            keys = ("model", "model_version") if domain == "model" else ("prompt_version",)
            yield Finding("refusals", domain, "refusals", 1.5,  # type: ignore[arg-type]
                          _service_entity(r, situation, *keys), (r.evidence,),
                          f"{share:.0%} of calls refused on model version {version or '?'}")


@rule("guardrail_blocks")
def guardrail_blocks(situation: Situation) -> Iterator[Finding]:
    """Guardrail blocks up: on the model when the model just changed, else on the prompt (a prompt change or an
    injection pattern in the inputs, which is the prompt's to defend)."""
    domain = "model" if changed_domain(situation) == "model" else "prompt"
    for r in readings(situation, "llm_guardrail_blocks_total", "guardrail_blocks"):
        if r.value >= MIN_BLOCKS_RPS and (r.baseline is None or r.rise >= 3):
            yield Finding("guardrail_blocks", domain, "guardrail_blocks", 1.5,  # type: ignore[arg-type]
                          _service_entity(r, situation), (r.evidence,),
                          f"guardrail {r.labels.get('guardrail', '?')} blocks up to {r.value:.2g}/s")


ALERT_METRICS: dict[str, tuple[str, str]] = {
    "llm_eval_score": ("eval_regression", "eval_regression"),
    "llm_feedback_total": ("eval_regression", "feedback"),
    "llm_tokens_total": ("token_bloat", "cost_jump"),
    "llm_cost_usd_total": ("token_bloat", "cost_jump"),
    "llm_request_duration_seconds": ("token_bloat", "latency_jump"),
    "llm_output_validation_failures_total": ("prompt_format", "model_format"),
}
"""The quality metrics an alert may be written on, and the kind of symptom they are for a prompt / a model."""


@rule("alert_symptom")
def alert_symptom(situation: Situation) -> Iterator[Finding]:
    """The alert's own condition holds at the instant, it is written on an LLM quality metric, and exactly the
    prompt or the model of the service changed shortly before: the symptom is that change's (1.5)."""
    from tools.investigation import alert_expression

    domain = changed_domain(situation)
    if domain is None:
        return
    exprs = {alert_expression(a.generator_url) for a in situation.incident.firing} - {""}
    for item in situation.evidence:
        if item.tool != "prometheus" or item.status != "ok" or not any(item.query.startswith(e) for e in exprs):
            continue
        for metric, kinds in ALERT_METRICS.items():
            if metric in item.query:
                kind = kinds[0] if domain == "prompt" else kinds[1]
                yield Finding("alert_symptom", domain, kind, 1.5,  # type: ignore[arg-type]
                              {"service": situation.service, "namespace": situation.namespace}, (item.id,),
                              f"the alert's condition on {metric} holds after the {domain} change")
                return
