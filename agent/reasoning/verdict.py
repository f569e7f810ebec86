"""The LLM reasoner's structured output: what `submit_diagnosis` takes, and how it becomes a Diagnosis and a
proposed action. Anything that does not validate — malformed JSON, an unknown domain, an action outside the
catalog, parameters that break the contract — is rejected with a reason, and the offline result stands."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.models import Diagnosis, Domain, Hypothesis
from agent.reasoning.catalog import check_params
from agent.reasoning.findings import ENTITY_KEYS


class Alternative(BaseModel):
    domain: Domain
    cause: str
    score: float = Field(0.0, ge=0)


class LLMVerdict(BaseModel):
    """Submit the diagnosis and the first remediation. This ends the investigation."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["diagnosed", "inconclusive"] = Field(description="`inconclusive` when nothing is clearly ahead")
    domain: Domain | None = Field(None, description="infra, model, prompt, provider or none; null if inconclusive")
    confidence: float = Field(ge=0.0, le=1.0, description="0..1")
    root_cause: dict[str, str] = Field(default_factory=dict, description="keys among " + ", ".join(ENTITY_KEYS))
    summary: str = Field(description="two or three sentences a human on call reads first")
    alternatives: list[Alternative] = Field(default_factory=list, description="other hypotheses considered")
    evidence: list[str] = Field(default_factory=list, description="evidence ids relied on")
    runbook: str = Field("", description="id of the runbook the remediation comes from")
    action: str | None = Field(None, description="a catalog action, or null when the domain is none")
    params: dict[str, Any] = Field(default_factory=dict, description="the action's parameters")

    @field_validator("root_cause")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ENTITY_KEYS))
        if unknown:
            raise ValueError(f"unknown root-cause keys {unknown}")
        return value


class Rejected(ValueError):
    """The LLM's output cannot be used; the message says why."""


JSON_BLOCK = re.compile(r"\{.*\}", re.DOTALL)


def parse(raw: Any) -> LLMVerdict:
    """A verdict from tool-call arguments (a dict) or from a text answer holding one JSON object."""
    if isinstance(raw, str):
        match = JSON_BLOCK.search(raw)
        if not match:
            raise Rejected("the answer holds no JSON object")
        try:
            raw = json.loads(match.group(0))
        except json.JSONDecodeError as exc:
            raise Rejected(f"the answer is not valid JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(raw, dict):
        raise Rejected("the answer is not a JSON object")
    try:
        verdict = LLMVerdict.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise Rejected(f"the answer breaks the output schema ({problems})") from exc
    check(verdict)
    return verdict


def check(verdict: LLMVerdict) -> None:
    """Consistency: catalog actions with contract parameters; none proposes nothing; inconclusive escalates."""
    if verdict.status == "diagnosed" and verdict.domain is None:
        raise Rejected("a diagnosed verdict must name a domain")
    if verdict.status == "inconclusive" and verdict.action not in (None, "notify.escalate"):
        raise Rejected(f"an inconclusive verdict may only escalate, not {verdict.action}")
    if verdict.domain == "none" and verdict.status == "diagnosed" and verdict.action not in (None, "notify.escalate"):
        raise Rejected(f"domain none proposes no change, not {verdict.action}")
    if verdict.action is not None:
        problems = check_params(verdict.action, verdict.params)
        if problems:
            raise Rejected("; ".join(problems))


def to_diagnosis(verdict: LLMVerdict, model: str, offline: Diagnosis) -> Diagnosis:
    """The verdict as a Diagnosis; the offline hypotheses are kept after the LLM's own alternatives."""
    mine = [Hypothesis(domain=a.domain, cause=a.cause, score=a.score) for a in verdict.alternatives]
    if verdict.domain is not None and verdict.status == "diagnosed":
        mine.insert(0, Hypothesis(domain=verdict.domain, cause=verdict.summary, score=verdict.confidence,
                                  root_cause=verdict.root_cause, evidence_for=verdict.evidence,
                                  runbook=verdict.runbook))
    return Diagnosis(
        status=verdict.status, domain=verdict.domain if verdict.status == "diagnosed" else None,
        confidence=verdict.confidence, root_cause=verdict.root_cause, summary=verdict.summary,
        hypotheses=[*mine, *offline.hypotheses], runbook=verdict.runbook, reasoner=f"llm:{model}",
    )
