from agent.reasoning import scoring


def test_a_lone_weak_hypothesis_is_not_a_confident_answer() -> None:
    v = scoring.verdict([0.5])
    assert not v.conclusive
    assert v.confidence < scoring.MIN_CONFIDENCE


def test_a_clear_leader_is_conclusive_with_high_confidence() -> None:
    v = scoring.verdict([4.5, 1.0, 0.5])
    assert v.conclusive and v.leader == 0
    assert v.confidence > 0.8


def test_two_close_hypotheses_are_inconclusive_even_when_both_are_strong() -> None:
    v = scoring.verdict([4.0, 3.6])
    assert not v.conclusive
    assert "too close" in v.why or "weight" in v.why


def test_confidence_grows_with_evidence_and_shares_sum_below_one() -> None:
    weak, strong = scoring.confidences([2.0, 0.5]), scoring.confidences([4.0, 0.5])
    assert strong[0] > weak[0]
    assert sum(strong) < 1.0  # the unobserved cause keeps some weight


def test_no_hypothesis_at_all_is_inconclusive() -> None:
    assert not scoring.verdict([]).conclusive
