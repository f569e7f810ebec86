"""Model and prompt rules: the LLM application signals (opsmedic's conventions, DESIGN.md section 4).

A symptom is pinned on a version when the series carry version labels: the version whose series is bad while
another's is fine (or whose value rose against its baseline) is the suspect. Which domain it points to
follows the label that tells the bad series from the good: prompt_version → prompt, model_version → model.
With no version to blame, eval decay and refusals point to the model (drift without a change).

| rule | signal | domain | weight |
|---|---|---|---|
| output_validation | validation failures on a prompt version | prompt | 1.5 |
| token_bloat | input tokens per prompt version up 1.5× or more | prompt | 1.5 |
| eval_regression | eval score down 0.1+ on one version against another or its baseline | by label | 2.0 |
| eval_drift | eval score down with every version alike | model | 1.0 |
| refusals | refused share of calls above 5 % | model | 1.5 |
| guardrail_blocks | guardrail blocks up 3× or more | prompt and model | 1.0 each |
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from agent.reasoning.findings import Finding, Situation
from agent.reasoning.readings import Reading, readings
from agent.reasoning.rules import rule

EVAL_DROP = 0.1


def _service_entity(r: Reading, situation: Situation, *keys: str) -> dict[str, str]:
    ent = {"service": r.labels.get("service") or situation.service,
           "namespace": r.labels.get("namespace") or situation.namespace}
    ent |= {k: r.labels[k] for k in keys if r.labels.get(k)}
    return {k: v for k, v in ent.items() if v}


@rule("output_validation")
def output_validation(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "llm_output_validation_failures_total", "output_validation_failures"):
        if r.value > 0 and (r.baseline is None or r.rise >= 3):
            ent = _service_entity(r, situation, "prompt_version")
            yield Finding("output_validation", "prompt", "prompt_format", 1.5, ent, (r.evidence,),
                          f"outputs fail validation ({r.labels.get('reason', 'format')}) on prompt "
                          f"{r.labels.get('prompt_version', '?')}")


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
    scores = readings(situation, "llm_eval_score", "eval_score")
    if not scores:
        return
    for r in scores:  # against its own baseline: drift if no version differs, else handled below
        if r.baseline is not None and r.baseline - r.value >= EVAL_DROP:
            yield Finding("eval_drift", "model", "eval_drift", 1.0,
                          _service_entity(r, situation, "model", "model_version"), (r.evidence,),
                          f"eval {r.labels.get('metric', 'score')} fell from {r.baseline:.2f} to {r.value:.2f}")
    worst = min(scores, key=lambda r: r.value)
    best = max(scores, key=lambda r: r.value)
    if best.value - worst.value < EVAL_DROP:
        return
    for label, domain in (("prompt_version", "prompt"), ("model_version", "model")):
        if worst.labels.get(label) and worst.labels.get(label) != best.labels.get(label):
            keys = ("prompt_version",) if domain == "prompt" else ("model", "model_version")
            yield Finding("eval_regression", domain, "eval_regression", 2.0,  # type: ignore[arg-type]
                          _service_entity(worst, situation, *keys), (worst.evidence, best.evidence),
                          f"eval {worst.labels.get('metric', 'score')} {worst.value:.2f} on {label} "
                          f"{worst.labels[label]} against {best.value:.2f} on {best.labels.get(label, '?')}")


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
            yield Finding("refusals", "model", "refusals", 1.5,
                          _service_entity(r, situation, "model", "model_version"), (r.evidence,),
                          f"{share:.0%} of calls refused on model version {version or '?'}")


@rule("guardrail_blocks")
def guardrail_blocks(situation: Situation) -> Iterator[Finding]:
    for r in readings(situation, "llm_guardrail_blocks_total", "guardrail_blocks"):
        if r.value > 0 and (r.baseline is None or r.rise >= 3):
            note = f"guardrail {r.labels.get('guardrail', '?')} blocks up"
            yield Finding("guardrail_blocks", "prompt", "guardrail_blocks", 1.0,
                          _service_entity(r, situation, "prompt_version"), (r.evidence,), note)
            yield Finding("guardrail_blocks", "model", "guardrail_blocks", 1.0,
                          _service_entity(r, situation, "model_version"), (r.evidence,), note)
