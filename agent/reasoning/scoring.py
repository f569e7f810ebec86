"""Turning hypothesis scores into a calibrated confidence and a verdict.

Scores are sums of rule weights (log-odds-like units). The confidence of a hypothesis is its softmax share
among all hypotheses **plus an `unobserved` pseudo-hypothesis** of fixed score: the chance that the cause is
something no rule saw. So a lone weak hypothesis never gets a confident answer just for being alone.

    confidence(h) = exp(score(h)) / (exp(UNOBSERVED) + Σ exp(score(h')))

The verdict is `diagnosed` when the leader's confidence reaches MIN_CONFIDENCE *and* it leads the runner-up by
MIN_MARGIN score units; otherwise `inconclusive` (never a confident guess).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

UNOBSERVED = 1.0
"""Score of the cause nobody saw."""
NONE_PRIOR = 0.5
"""Score the `none` hypothesis starts from: alerts that fire with nothing behind them happen."""
MIN_CONFIDENCE = 0.6
MIN_MARGIN = 1.0


@dataclass(frozen=True)
class Verdict:
    leader: int
    """Index of the leading hypothesis in the scored list."""
    confidence: float
    conclusive: bool
    why: str


def confidences(scores: list[float]) -> list[float]:
    """Each score's share, with the `unobserved` pseudo-hypothesis in the denominator."""
    if not scores:
        return []
    top = max([*scores, UNOBSERVED])
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights) + math.exp(UNOBSERVED - top)
    return [w / total for w in weights]


def verdict(scores: list[float]) -> Verdict:
    """Pick the leader of `scores` (sorted or not) and say whether it is clearly ahead."""
    if not scores:
        return Verdict(-1, 0.0, False, "no hypothesis has any evidence")
    shares = confidences(scores)
    leader = max(range(len(scores)), key=lambda i: scores[i])
    runner_up = max((s for i, s in enumerate(scores) if i != leader), default=0.0)
    margin = scores[leader] - runner_up
    if shares[leader] < MIN_CONFIDENCE:
        why = f"the leading hypothesis has only {shares[leader]:.0%} of the weight"
        return Verdict(leader, shares[leader], False, why)
    if margin < MIN_MARGIN:
        why = f"the two leading hypotheses are too close ({scores[leader]:.2f} vs {runner_up:.2f})"
        return Verdict(leader, shares[leader], False, why)
    return Verdict(leader, shares[leader], True, f"leads by {margin:.2f} with {shares[leader]:.0%} of the weight")
