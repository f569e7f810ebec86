"""promtool's expanding notation, as DESIGN.md section 3 defines it."""

from __future__ import annotations

import math

import pytest

from agent.errors import ConfigError
from agent.replay.notation import STALE, expand, expand_checked


def test_counting_up_gives_n_plus_one_values() -> None:
    assert expand("0+50x3") == [0.0, 50.0, 100.0, 150.0]


def test_counting_down() -> None:
    assert expand("10-2.5x2") == [10.0, 7.5, 5.0]


def test_repeat_gives_n_plus_one_copies() -> None:
    assert expand("7x2") == [7.0, 7.0, 7.0]


def test_missing_samples_and_staleness() -> None:
    assert expand("1 _ _x2 stale 3") == [1.0, None, None, None, STALE, 3.0]


def test_the_design_example_has_181_values() -> None:
    values = expand("0+50x140 7000x39")
    assert len(values) == 181
    assert values[140] == 7000.0 and values[-1] == 7000.0


def test_negative_scientific_and_infinite_numbers() -> None:
    values = expand("-1.5e2 +Inf -Inf")
    assert values[0] == -150.0 and values[1] == math.inf and values[2] == -math.inf


@pytest.mark.parametrize("bad", ["1+x3", "abc", "1x", "_x", "5+5", "1,2"])
def test_bad_tokens_name_the_token_and_the_place(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        expand_checked(f"1 {bad}", where="s.yaml: metrics.series[0].values")
    assert "s.yaml: metrics.series[0].values" in str(err.value)
    assert repr(bad.split()[0]) in str(err.value) or bad in str(err.value)
