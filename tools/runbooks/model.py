"""The runbook front matter (DESIGN.md section 5): a strict pydantic model, checked against the action catalog.

    ---
    id: prompt-output-format-broken         # unique, kebab-case
    title: A prompt version breaks the output format
    domain: prompt                          # infra | model | prompt | provider
    match:                                  # when the runbook applies
      alerts: [LLMOutputValidationFailures, LLMOutputInvalid*]   # alert names; `*` and `?` globs allowed
      labels: {severity: "critical|warning"}                     # label -> regular expression, fully matched
    symptoms: [invalid JSON in model output, schema validation failures]   # optional: phrases people type
    signals:                                # PromQL the diagnose step runs at the incident's instant
      - name: validation_failures
        query: 'sum by (prompt_version) (rate(llm_output_validation_failures_total{service="{service}"}[10m]))'
        supports_when: '> 0.02'             # a series meeting this supports the runbook's explanation
        weakens_when: '== 0'                # optional: a series meeting this argues against it
    remediations:                           # catalog actions, most preferred first
      - action: prompt.rollback
        params: {namespace: '{namespace}', service: '{service}', prompt: '{prompt}',
                 to_version: '{prompt_version_previous}'}
      - action: notify.escalate
        params: {reason: 'prompt {prompt_version} of {service} breaks the output format'}
    ---

Conditions are one comparison with a number (`> 0`, `>= 0.9`, `< 0.7`, `== 1`, `!= 0`). A signal query may use
the placeholders in SIGNAL_PLACEHOLDERS, filled from the alert's labels (a signal whose placeholder the alert
does not carry is skipped); PromQL's own braces are left alone. Remediation templates may use the root-cause
facts in REMEDIATION_PLACEHOLDERS; a value that is exactly one placeholder keeps the fact's type.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.reasoning.catalog import ACTIONS

Domain = Literal["infra", "model", "prompt", "provider"]
DOMAINS: tuple[str, ...] = ("infra", "model", "prompt", "provider")

PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*-?[0-9.]+(?:e-?[0-9]+)?\s*$")
ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

SIGNAL_PLACEHOLDERS: dict[str, str] = {
    "service": "the alert's `service` label",
    "namespace": "the alert's `namespace` label",
    "pod": "the alert's `pod` label",
    "node": "the alert's `node` label",
    "provider": "the alert's `provider` label",
    "model": "the alert's `model` label",
}
"""Placeholders a signal query may use: labels of the alert being investigated."""

REMEDIATION_PLACEHOLDERS: dict[str, str] = {
    "service": "the service at fault (or the service calling the faulty provider)",
    "namespace": "its namespace",
    "kind": "the workload kind, Deployment or StatefulSet",
    "name": "the workload's name",
    "pod": "the pod at fault",
    "node": "the node at fault",
    "provider": "the provider at fault",
    "provider_previous": "the provider used before the last provider change",
    "model": "the model at fault",
    "model_version": "the model version at fault",
    "model_version_previous": "the model version before the last model change",
    "prompt": "the prompt's name",
    "prompt_version": "the prompt version at fault",
    "prompt_version_previous": "the prompt version before the last prompt change",
    "image": "the container image at fault",
    "image_previous": "the image before the last deploy",
    "replicas_target": "a replica count the evidence supports (unset: the remediation is skipped)",
    "rate_limit_rps": "a request rate the evidence supports (unset: the remediation is skipped)",
}
"""Placeholders a remediation template may use: facts about the root cause (see agent.reasoning.proposal)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(Strict):
    """When a runbook applies: alert names (globs) and label matchers (regular expressions, fully matched)."""

    alerts: tuple[str, ...] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _regexes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for key, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"label {key!r}: {pattern!r} is not a regular expression ({exc})") from exc
        return value


class Signal(Strict):
    """A named PromQL check and the conditions under which it supports or weakens the runbook's explanation."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    query: str = Field(min_length=1)
    supports_when: str
    weakens_when: str = ""

    @field_validator("supports_when", "weakens_when")
    @classmethod
    def _condition(cls, value: str) -> str:
        if value and not CONDITION.match(value):
            raise ValueError(f"{value!r} is not a condition: write one comparison with a number, like '> 0'")
        return value

    @field_validator("query")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(value)} - set(SIGNAL_PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join(unknown)}; known: {', '.join(SIGNAL_PLACEHOLDERS)}")
        return value


class Remediation(Strict):
    """A catalog action with parameter templates."""

    action: str
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _catalog(self) -> Remediation:
        spec = ACTIONS.get(self.action)
        if spec is None:
            raise ValueError(f"{self.action!r} is not a catalog action (known: {', '.join(sorted(ACTIONS))})")
        missing = [p for p in spec.required if p not in self.params]
        unknown = [p for p in self.params if p not in spec.params]
        if missing:
            raise ValueError(f"{self.action} needs parameter(s) {', '.join(missing)}")
        if unknown:
            raise ValueError(f"{self.action} takes no parameter(s) {', '.join(unknown)} "
                             f"(takes {', '.join(spec.params)})")
        if self.action == "traffic.shed" and not {"rate_limit_rps", "pause"} & set(self.params):
            raise ValueError("traffic.shed needs rate_limit_rps or pause")
        for key, template in self.params.items():
            names = {m.group(1) for m in PLACEHOLDER.finditer(template)} if isinstance(template, str) else set()
            unknown_ph = sorted(names - set(REMEDIATION_PLACEHOLDERS))
            if unknown_ph:
                raise ValueError(f"params.{key}: unknown placeholder(s) {', '.join(unknown_ph)}; "
                                 f"known: {', '.join(REMEDIATION_PLACEHOLDERS)}")
        return self


class Runbook(Strict):
    """One runbook: the validated front matter plus its Markdown body and where it came from."""

    id: str = Field(pattern=ID.pattern)
    title: str = Field(min_length=1)
    domain: Domain
    match: Match
    symptoms: tuple[str, ...] = ()
    signals: tuple[Signal, ...] = Field(min_length=1)
    remediations: tuple[Remediation, ...] = Field(min_length=1)
    body: str = ""
    """The Markdown after the front matter (Meaning, Impact, Diagnosis, Mitigation)."""
    path: str = ""
    """The file it was read from."""
    digest: str = ""
    """sha256 of the file's text: the index re-embeds a runbook only when this changes."""

    def section(self, heading: str) -> str:
        """The text of the `## heading` section of the body ('' when absent)."""
        return sections(self.body).get(heading.lower(), "")

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "domain": self.domain, "path": self.path,
                "alerts": list(self.match.alerts), "remediations": [r.action for r in self.remediations]}


REQUIRED_SECTIONS = ("meaning", "impact", "diagnosis", "mitigation")


def sections(body: str) -> dict[str, str]:
    """`## Heading` sections of a Markdown body, keyed by lower-case heading."""
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        if line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip().lower(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines).strip()
    return out
