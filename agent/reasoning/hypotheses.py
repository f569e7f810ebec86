"""From findings to competing hypotheses.

Findings are grouped by domain and by the entity they point at (the *subject*: a provider, a service, a node),
so `openai is failing` and `the chat service's prompt broke` compete as separate hypotheses. Each rule counts
once per hypothesis (its strongest finding), so ten pods saying the same thing do not outvote one clear signal.
Findings against a domain weaken every hypothesis of that domain they agree with; findings that name no subject
support every hypothesis of their domain.

Two cascade rules then move symptoms to their cause:

- **node cascade** — when a node is under pressure or its GPU fails (XID), infra trouble of workloads on it
  (restarts, evictions) is explained by the node: those hypotheses fold into the node's.
- **symptom cascade** — a symptom (a finding of kind `symptom`: the alert's own condition holding, a service's
  own latency or errors) says that something is wrong, not what. When some hypothesis names a cause (any
  domain but `none`, with support of at least CAUSE_MIN), hypotheses made only of symptoms are explained by the
  strongest such cause and fold into it — a failing provider, a slow dependency, a bad prompt. With no cause,
  the symptom stands alone: a weak hypothesis on the alerting service, which the verdict reports as
  "symptom confirmed, cause not found".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent.models import Domain, Hypothesis
from agent.reasoning.findings import ENTITY_KEYS, Finding

SUBJECT_KEYS: dict[str, tuple[str, ...]] = {
    "provider": ("provider",),
    "prompt": ("service",),
    "model": ("service", "model"),
    "infra": ("node", "service", "pod"),
    "none": (),
}
"""Per domain, the entity keys that tell one hypothesis from another (the first present wins)."""

NODE_FAULTS = {"node_pressure", "gpu_xid"}
"""Kinds of findings that make a node the cause of its workloads' trouble."""

CAUSE_TEXT = {
    "infra": "the infrastructure under {subject}",
    "model": "the model behind {subject}",
    "prompt": "the prompt of {subject}",
    "provider": "the model provider {subject}",
    "none": "no fault: the alert does not reflect a lasting problem",
}


@dataclass
class Candidate:
    """A hypothesis being built: its findings, by rule."""

    domain: Domain
    subject: str
    findings: dict[str, Finding] = field(default_factory=dict)
    against: dict[str, Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        bucket = self.findings if finding.weight > 0 else self.against
        kept = bucket.get(finding.rule)
        if kept is None or abs(finding.weight) > abs(kept.weight):
            bucket[finding.rule] = finding

    @property
    def score(self) -> float:
        support = sum(f.weight for f in self.findings.values())
        return max(0.0, support + sum(f.weight for f in self.against.values()))

    @property
    def strongest(self) -> Finding | None:
        return max(self.findings.values(), key=lambda f: f.weight, default=None)

    def entity(self) -> dict[str, str]:
        """The root cause: entity keys of the findings, the strongest finding's values winning conflicts."""
        merged: dict[str, str] = {}
        for finding in sorted(self.findings.values(), key=lambda f: f.weight):
            merged.update(finding.entity)
        return merged


def subject_of(domain: str, entity: dict[str, str]) -> str:
    for key in SUBJECT_KEYS.get(domain, ()):
        if entity.get(key):
            return f"{key}={entity[key]}"
    return ""


def build(findings: list[Finding]) -> list[Candidate]:
    """Group findings into candidates, apply findings against, then the cascade rules."""
    candidates: dict[tuple[str, str], Candidate] = {}
    against: list[Finding] = []
    loose: list[Finding] = []
    for finding in findings:
        if finding.weight <= 0:
            against.append(finding)
            continue
        key = (finding.domain, subject_of(finding.domain, finding.entity))
        if not key[1] and finding.domain != "none":
            loose.append(finding)
            continue
        candidates.setdefault(key, Candidate(finding.domain, key[1])).add(finding)
    for finding in loose:  # no subject: supports every hypothesis of its domain, or stands alone
        same = [c for (domain, _), c in candidates.items() if domain == finding.domain]
        for cand in same or [candidates.setdefault((finding.domain, ""), Candidate(finding.domain, ""))]:
            cand.add(finding)
    for finding in against:
        subject = subject_of(finding.domain, finding.entity)
        for (domain, cand_subject), cand in candidates.items():
            if domain == finding.domain and (not subject or subject == cand_subject):
                cand.add(finding)
    merged = _symptom_cascade(_node_cascade(list(candidates.values())))
    return sorted(merged, key=lambda c: c.score, reverse=True)


def _fold(into: Candidate, other: Candidate) -> None:
    for finding in other.findings.values():
        note = f"{finding.note} (explained by {into.subject})" if finding.note else finding.note
        into.add(Finding(f"cascade:{finding.rule}", into.domain, finding.kind, finding.weight * 0.5,
                         {}, finding.evidence, note))


def _node_cascade(candidates: list[Candidate]) -> list[Candidate]:
    nodes = [c for c in candidates if c.domain == "infra" and c.subject.startswith("node=")
             and any(f.kind in NODE_FAULTS for f in c.findings.values())]
    if not nodes:
        return candidates
    node = max(nodes, key=lambda c: c.score)
    node_name = node.subject.removeprefix("node=")
    kept = []
    for cand in candidates:
        workload = cand.domain == "infra" and cand is not node and not cand.subject.startswith("node=")
        on_node = any(f.entity.get("on_node") in ("", None, node_name) for f in cand.findings.values())
        if workload and on_node:
            _fold(node, cand)
        else:
            kept.append(cand)
    return kept


CAUSE_MIN = 1.0
"""Support a hypothesis needs before the symptoms fold into it: a hint (about 1) or more."""


def _symptoms_only(cand: Candidate) -> bool:
    """Made of symptoms, plus at most runbook checks: those only corroborate (they never raise a hypothesis
    alone), so a runbook signal on the alerting service restates its symptom rather than naming a cause."""
    found = cand.findings.values()
    return any(f.kind == "symptom" for f in found) and all(
        f.kind == "symptom" or f.rule == "runbook_signals" for f in found)


def _symptom_cascade(candidates: list[Candidate]) -> list[Candidate]:
    causes = [c for c in candidates if c.domain != "none" and not _symptoms_only(c) and c.score >= CAUSE_MIN]
    if not causes:
        return candidates
    top = max(causes, key=lambda c: c.score)
    kept = []
    for cand in candidates:
        if cand is not top and _symptoms_only(cand):
            _fold(top, cand)
        else:
            kept.append(cand)
    return kept


def to_hypothesis(cand: Candidate, runbook: str = "") -> Hypothesis:
    entity = {k: v for k, v in cand.entity().items() if k in ENTITY_KEYS}
    strongest = cand.strongest
    subject = cand.subject.split("=", 1)[-1] or "the alerting service"
    cause = CAUSE_TEXT[cand.domain].format(subject=subject)
    if strongest is not None and cand.domain != "none":
        cause = f"{strongest.kind.replace('_', ' ')}: {cause}"
    notes = [f.note for f in sorted(cand.findings.values(), key=lambda f: -f.weight) if f.note]
    if notes:
        cause = f"{cause} — {'; '.join(notes[:3])}"
    return Hypothesis(
        domain=cand.domain, cause=cause, score=round(cand.score, 3), root_cause=entity,
        evidence_for=_ids(cand.findings.values()), evidence_against=_ids(cand.against.values()), runbook=runbook,
    )


def _ids(findings: object) -> list[str]:
    seen: dict[str, None] = {}
    for finding in findings:  # type: ignore[attr-defined]
        for ref in finding.evidence:
            seen.setdefault(ref, None)
    return list(seen)


def by_domain(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    grouped: dict[str, list[Candidate]] = defaultdict(list)
    for cand in candidates:
        grouped[cand.domain].append(cand)
    return grouped
