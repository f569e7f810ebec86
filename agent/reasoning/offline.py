"""The offline reasoner (the default): deterministic, no LLM.

    evidence + changes + alerts ─> rules ─> findings ─> hypotheses (per domain and entity, plus `none`)
        ─> scores ─> confidence and verdict ─> root cause, cited evidence, winning runbook

Same situation in, same diagnosis out: replay and production run the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.models import Diagnosis
from agent.reasoning import hypotheses, rules, scoring
from agent.reasoning.facts import derived_facts
from agent.reasoning.findings import ENTITY_KEYS, Finding, Situation
from agent.reasoning.rules.provider import used_providers
from agent.reasoning.runbooks import choose_runbook

log = logging.getLogger(__name__)

MAX_HYPOTHESES = 8


@dataclass(frozen=True)
class Reasoning:
    """What the offline reasoner concluded, and what `propose` needs to fill the winning runbook's templates."""

    diagnosis: Diagnosis
    facts: dict[str, Any] = field(default_factory=dict)
    """Everything known about the root cause (entity keys and helpers such as `prompt_version_previous`)."""
    runbook: Any = None
    """The winning runbook object (None when inconclusive, `none`, or no runbook fits)."""
    findings: list[Finding] = field(default_factory=list)


SIGNAL_TOOLS = ("llm_signals", "infra_signals", "gateway", "kubernetes.pods", "kubernetes.workload")
QUIET_WEIGHT = 2.0
SIGNIFICANT = 1.0
NOT_ABNORMAL = {"recent_change"}
"""Findings that are not abnormal in themselves: a change is only a suspect until a symptom shows."""


CLEARING = {"alert_resolved", "alert_condition_clear", "alert_chronic", "rollout_healthy"}
"""Rules whose findings are positive evidence that the alert does not reflect a current fault."""


def nothing_abnormal(situation: Situation, found: list[Finding]) -> list[Finding]:
    """The meta-rule `nothing_abnormal`: the alert itself cleared (resolved, its condition no longer holds, it
    is the usual state, or a planned rollout went fine), the signal tools answered (at least two, none failed)
    and no rule found a fault of weight SIGNIFICANT or more (changes do not count) — the evidence shows no fault
    (none +QUIET_WEIGHT). Quiet tools alone are not enough: a firing alert is evidence until it clears."""
    if not any(f.rule in CLEARING and f.domain == "none" and f.weight > 0 for f in found):
        return []
    if any(f.rule == "alert_holds" for f in found):
        return []
    answered = [e for e in situation.evidence if e.tool in SIGNAL_TOOLS]
    if len(answered) < 2 or any(e.status == "error" for e in answered):
        return []
    if any(f.domain != "none" and f.weight >= SIGNIFICANT and f.rule not in NOT_ABNORMAL for f in found):
        return []
    return [Finding("nothing_abnormal", "none", "quiet", QUIET_WEIGHT, evidence=tuple(e.id for e in answered),
                    note=f"{len(answered)} signal tools answered and no rule found a fault")]


def corroborated(found: list[Finding]) -> list[Finding]:
    """The meta-rule `corroboration`: a runbook's own signal supports a domain only where another rule already
    does (runbook checks are broad; they pick the runbook and add weight, they do not raise a domain alone)."""
    backed = {f.domain for f in found if f.weight > 0 and f.rule not in ("prior", "runbook_signals")}
    return [f for f in found if f.rule != "runbook_signals" or f.weight <= 0 or f.domain in backed]


CRASH_KINDS = {"oom", "crash_loop", "restarts", "failed_rollout", "replicas_missing"}


def bad_deploy(situation: Situation, found: list[Finding]) -> list[Finding]:
    """The meta-rule `bad_deploy`: pods of a service crash (OOM, crash loop, restarts) after a deploy of that
    same service shortly before the onset — the deploy is the cause: kind `failed_rollout`, +1.5."""
    deploys = [f for f in found if f.rule == "recent_change" and f.domain == "infra" and f.weight >= 0.5]
    out = []
    for deploy in deploys:
        service = deploy.entity.get("service")
        crashes = [f for f in found if f.domain == "infra" and f.kind in CRASH_KINDS and f.weight > 0
                   and f.entity.get("service") == service]
        if service and crashes:
            out.append(Finding("bad_deploy", "infra", "failed_rollout", 3.0, deploy.entity,
                               tuple({e for f in (deploy, *crashes) for e in f.evidence}),
                               f"{service} started failing right after its deploy"))
    return out[:1]


class OfflineReasoner:
    def __init__(self, runbooks: Any = None, rule_set: Mapping[str, rules.Rule] | None = None) -> None:
        self.runbooks = runbooks
        """A runbook index with `search(query, alert=, labels=, k=)` (tools.runbooks), or None."""
        self.rules = dict(rule_set) if rule_set is not None else rules.load()

    def findings(self, situation: Situation) -> list[Finding]:
        found = [Finding("prior", "none", "quiet", scoring.NONE_PRIOR, note="")]
        for name, fn in self.rules.items():
            try:
                found.extend(fn(situation))
            except Exception:  # a rule tripping over odd evidence must not sink the diagnosis
                log.exception("rule %s failed; skipping it", name)
        found = corroborated(found)
        found.extend(bad_deploy(situation, found))
        found.extend(nothing_abnormal(situation, found))
        return found

    def reason(self, situation: Situation) -> Reasoning:
        findings = self.findings(situation)
        candidates = hypotheses.build(findings)
        verdict = scoring.verdict([c.score for c in candidates])
        shares = scoring.confidences([c.score for c in candidates])
        leader = candidates[verdict.leader]
        ranked = [hypotheses.to_hypothesis(c) for c in candidates[:MAX_HYPOTHESES]]
        if not verdict.conclusive:
            runner = candidates[1] if len(candidates) > 1 else None
            confirmed = any(f.rule == "alert_holds" for f in findings)
            head = "Inconclusive: symptom confirmed, cause not found" if confirmed else "Inconclusive"
            diagnosis = Diagnosis(
                status="inconclusive", confidence=round(shares[verdict.leader], 3), hypotheses=ranked,
                summary=f"{head}: {verdict.why}. Leading: {ranked[0].cause}"
                + (f"; runner-up: {hypotheses.to_hypothesis(runner).cause}" if runner else ""),
            )
            return Reasoning(diagnosis, findings=findings)
        facts = self._facts(leader, situation)
        runbook = None
        if leader.domain != "none":
            runbook = choose_runbook(self.runbooks, leader, situation)
        runbook_id = str(getattr(runbook, "id", "") or (runbook.get("id") if isinstance(runbook, dict) else "") or "")
        ranked[0] = hypotheses.to_hypothesis(leader, runbook_id)
        root = {k: v for k, v in facts.items() if k in ENTITY_KEYS} if leader.domain != "none" else {}
        diagnosis = Diagnosis(
            status="diagnosed", domain=leader.domain, confidence=round(shares[verdict.leader], 3),
            root_cause=root, summary=self._summary(ranked[0], root), hypotheses=ranked, runbook=runbook_id,
        )
        return Reasoning(diagnosis, facts, runbook, findings)

    @staticmethod
    def _facts(leader: hypotheses.Candidate, situation: Situation) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        strongest = leader.strongest
        if not leader.subject.startswith("node="):
            # a provider's remediation (failover) applies to the service that calls it
            facts |= {"service": situation.service, "namespace": situation.namespace}
            facts |= derived_facts(situation, strongest.kind if strongest else "")
        facts |= leader.entity()
        if leader.domain == "provider" and not facts.get("provider"):
            used = used_providers(situation)
            if len(used) == 1:
                facts["provider"] = used.pop()
        return {k: v for k, v in facts.items() if v not in (None, "")}

    @staticmethod
    def _summary(top: Any, root: dict[str, str]) -> str:
        if top.domain == "none":
            return f"No fault found: {top.cause}"
        where = ", ".join(f"{k}={v}" for k, v in root.items()) or "unnamed entity"
        return f"{top.domain} fault at {where}: {top.cause}"
