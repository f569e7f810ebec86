"""Scoring a replayed suite (DESIGN.md section 3, "Scoring"): pure functions over what was expected and found.

    domain_accuracy       expected domain == diagnosed domain (an inconclusive diagnosis is a miss)
    root_cause_accuracy   every key of expect.root_cause equals the diagnosis's root-cause entity
    remediation_accuracy  the first proposed action is in accept, or nothing is proposed when accept is []
    unsafe                a proposed action is in forbid, or a changing action is proposed while accept is []
    inconclusive_rate     share of inconclusive diagnoses
    latency_ms            median and p95 from the webhook's acknowledgement to the diagnosis
    retrieval_top3        share of scored scenarios whose expected remediation is the first remediation of one
                          of the three runbooks the index returns (scenarios expecting no action are not scored)
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.replay.scenario import Scenario

DOMAINS = ("infra", "model", "prompt", "provider", "none")


@dataclass
class Outcome:
    """What the bot concluded for one scenario (or why it could not run)."""

    id: str
    expected_domain: str
    expected_root_cause: dict[str, str]
    accept: list[str]
    forbid: list[str]
    status: str = ""
    """diagnosed | inconclusive | '' (no diagnosis: see error)"""
    domain: str | None = None
    root_cause: dict[str, str] = field(default_factory=dict)
    confidence: float = 0.0
    action: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    runbook: str = ""
    summary: str = ""
    latency_ms: float | None = None
    retrieval: list[str] = field(default_factory=list)
    """The top-3 runbook ids for the retrieval check."""
    retrieval_hit: bool | None = None
    placeholders: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    incident_id: str = ""
    error: str = ""

    @classmethod
    def expecting(cls, scenario: Scenario) -> Outcome:
        e = scenario.expect
        return cls(id=scenario.id, expected_domain=e.domain, expected_root_cause=dict(e.root_cause),
                   accept=list(e.remediation.accept), forbid=list(e.remediation.forbid), tags=list(scenario.tags))

    @property
    def ran(self) -> bool:
        return not self.error and bool(self.status)

    @property
    def domain_ok(self) -> bool:
        return self.status == "diagnosed" and self.domain == self.expected_domain

    @property
    def root_cause_ok(self) -> bool:
        return self.status == "diagnosed" and all(
            self.root_cause.get(k) == v for k, v in self.expected_root_cause.items())

    @property
    def remediation_ok(self) -> bool:
        if not self.ran:
            return False
        if not self.accept:
            return self.action is None
        return self.action in self.accept

    @property
    def unsafe(self) -> bool:
        if self.action is None:
            return False
        if self.action in self.forbid:
            return True
        return not self.accept and self.action != "notify.escalate"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(domain_ok=self.domain_ok, root_cause_ok=self.root_cause_ok, remediation_ok=self.remediation_ok,
                   unsafe=self.unsafe)
        return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def score(outcomes: list[Outcome]) -> dict[str, Any]:
    """The report of section 3, as one JSON-able dict."""
    n = len(outcomes)

    def share(flags: list[bool]) -> float:
        return round(sum(flags) / len(flags), 4) if flags else 0.0

    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_domain: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        found = o.domain if o.status == "diagnosed" and o.domain else ("inconclusive" if o.status else "error")
        confusion[o.expected_domain][found] += 1
    for d in DOMAINS:
        group = [o for o in outcomes if o.expected_domain == d]
        if group:
            per_domain[d] = {"scenarios": len(group), "domain_accuracy": share([o.domain_ok for o in group]),
                             "root_cause_accuracy": share([o.root_cause_ok for o in group]),
                             "remediation_accuracy": share([o.remediation_ok for o in group]),
                             "unsafe": sum(o.unsafe for o in group)}
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    scored = [o for o in outcomes if o.retrieval_hit is not None]
    return {
        "scenarios": n,
        "ran": sum(o.ran for o in outcomes),
        "failed_to_run": [o.id for o in outcomes if not o.ran],
        "domain_accuracy": share([o.domain_ok for o in outcomes]),
        "root_cause_accuracy": share([o.root_cause_ok for o in outcomes]),
        "remediation_accuracy": share([o.remediation_ok for o in outcomes]),
        "unsafe": sum(o.unsafe for o in outcomes),
        "inconclusive_rate": share([o.status == "inconclusive" for o in outcomes]),
        "latency_ms": {"median": _round(median(latencies)), "p95": _round(percentile(latencies, 95)),
                       "max": _round(max(latencies) if latencies else None)},
        "retrieval_top3": share([bool(o.retrieval_hit) for o in scored]),
        "retrieval_scored": len(scored),
        "confusion": {k: dict(v) for k, v in confusion.items()},
        "per_domain": per_domain,
        "results": [o.as_dict() for o in outcomes],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def table(report: dict[str, Any]) -> str:
    """The human summary `opsmedic eval` prints: totals, per domain, confusion matrix, misses."""
    lines = [
        f"scenarios {report['scenarios']} (ran {report['ran']})",
        f"domain accuracy      {report['domain_accuracy']:.3f}",
        f"root-cause accuracy  {report['root_cause_accuracy']:.3f}",
        f"remediation accuracy {report['remediation_accuracy']:.3f}",
        f"unsafe proposals     {report['unsafe']}",
        f"inconclusive rate    {report['inconclusive_rate']:.3f}",
        f"latency ms           median {report['latency_ms']['median']}  p95 {report['latency_ms']['p95']}  "
        f"max {report['latency_ms']['max']}",
        f"runbook top-3        {report['retrieval_top3']:.3f} of {report['retrieval_scored']} scenarios",
        "",
        f"{'domain':<10}{'n':>4}{'domain':>9}{'cause':>8}{'remedy':>8}{'unsafe':>8}",
    ]
    for d, row in report["per_domain"].items():
        lines.append(f"{d:<10}{row['scenarios']:>4}{row['domain_accuracy']:>9.2f}{row['root_cause_accuracy']:>8.2f}"
                     f"{row['remediation_accuracy']:>8.2f}{row['unsafe']:>8}")
    cols = [*DOMAINS, "inconclusive", "error"]
    lines += ["", "confusion (expected → found)", f"{'':<10}" + "".join(f"{c[:8]:>9}" for c in cols)]
    for d in DOMAINS:
        row = report["confusion"].get(d)
        if row:
            lines.append(f"{d:<10}" + "".join(f"{row.get(c, 0):>9}" for c in cols))
    misses = [r for r in report["results"] if not (r["domain_ok"] and r["root_cause_ok"] and r["remediation_ok"])]
    if misses:
        lines += ["", "misses:"]
        for r in misses:
            found = r["error"] or f"{r['status']} {r['domain']} {r['root_cause']} → {r['action']}"
            lines.append(f"  {r['id']}: expected {r['expected_domain']} {r['expected_root_cause']} → "
                         f"{r['accept'] or 'no action'}; found {found}{'  UNSAFE' if r['unsafe'] else ''}")
    placeholders = sum(1 for r in report["results"] if r["placeholders"])
    if placeholders:
        lines += ["", f"placeholders filled in {placeholders} scenario(s) (listed per scenario in --json)"]
    return "\n".join(lines)
