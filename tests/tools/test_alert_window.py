"""The alert's own condition over time, and the rule behind it, read from a real Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.replay.prometheus import PrometheusServer, Sample
from tests.tools.conftest import connect
from tools.alert_rules import find_rule
from tools.alert_window import alert_window, longest_range_s

pytestmark = pytest.mark.prometheus

INSTANT = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
START = INSTANT - timedelta(hours=3)
STEPS = 181


def _points(values: list[float | None]) -> list[tuple[float, float | None]]:
    return [((START + timedelta(minutes=i)).timestamp(), v) for i, v in enumerate(values)]


def _gauge(fn) -> list[float | None]:  # type: ignore[no-untyped-def]
    return [fn(i) for i in range(STEPS)]


SAMPLES: list[Sample] = [
    # new: normal at 1, high over the last 20 minutes and still high
    ("queue_depth", {"service": "new"}, _points(_gauge(lambda i: 50.0 if i >= STEPS - 20 else 1.0))),
    # chronic: high all along
    ("queue_depth", {"service": "chronic"}, _points(_gauge(lambda i: 50.0))),
    # cleared: high from 30 to 10 minutes before the instant, normal since
    ("queue_depth", {"service": "cleared"}, _points(_gauge(lambda i: 50.0 if STEPS - 30 <= i < STEPS - 10 else 1.0))),
    # one restart 40 minutes before the instant, none since
    ("restarts_total", {"service": "once"}, _points(_gauge(lambda i: 1.0 if i >= STEPS - 40 else 0.0))),
    # restarting every 5 minutes for the last 40 minutes
    ("restarts_total", {"service": "looping"},
     _points(_gauge(lambda i: float(max(0, (i - (STEPS - 40)) // 5 + 1)) if i >= STEPS - 40 else 0.0))),
]

RULES = """
groups:
  - name: opsmedic-test
    interval: 30s
    rules:
      - alert: QueueDeep
        expr: queue_depth > 10
        for: 5m
      - alert: QueueDeep
        expr: queue_depth{service="new"} > 20
        for: 2m
"""


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    workdir: Path = tmp_path_factory.mktemp("alert-window")
    with PrometheusServer(SAMPLES, workdir, rules=RULES) as server:
        yield connect(server.url)


def test_a_condition_that_began_in_the_episode_holds_and_is_new(prom) -> None:
    # the rule waited 4 minutes (`for`) before firing 15 minutes ago: the episode began 19 minutes ago
    found = alert_window(prom, 'queue_depth{service="new"} > 10', INSTANT - timedelta(minutes=15), INSTANT,
                         for_s=240)
    assert found.status == "ok"
    assert found.data["holds_now"] is True
    assert found.data["baseline_share"] == 0
    assert found.data["first_held"] == (INSTANT - timedelta(minutes=19)).isoformat()


def test_a_condition_that_held_all_along_is_the_usual_state(prom) -> None:
    found = alert_window(prom, 'queue_depth{service="chronic"} > 10', INSTANT - timedelta(minutes=15), INSTANT)
    assert found.data["holds_now"] is True
    assert found.data["baseline_share"] == 1.0


def test_a_condition_that_cleared_is_not_held_now_nor_within_its_for(prom) -> None:
    expr = 'queue_depth{service="cleared"} > 10'
    found = alert_window(prom, expr, INSTANT - timedelta(minutes=25), INSTANT, for_s=300)
    assert found.status == "ok"  # it held inside the window
    assert found.data["holds_now"] is False
    assert found.data["held_in_for"] is False
    longer = alert_window(prom, expr, INSTANT - timedelta(minutes=25), INSTANT, for_s=900)
    assert longer.data["held_in_for"] is True  # within a 15-minute for, it still counts


def test_a_long_range_condition_over_an_event_that_is_over_says_so(prom) -> None:
    once = alert_window(prom, 'increase(restarts_total{service="once"}[1h]) > 0', INSTANT - timedelta(minutes=38),
                        INSTANT)
    assert once.data["holds_now"] is True
    assert once.data["recent_holds"] is False
    looping = alert_window(prom, 'increase(restarts_total{service="looping"}[1h]) > 0',
                           INSTANT - timedelta(minutes=38), INSTANT)
    assert looping.data["recent_holds"] is True


def test_a_condition_that_never_held_is_no_data(prom) -> None:
    found = alert_window(prom, 'queue_depth{service="chronic"} > 100', INSTANT - timedelta(minutes=5), INSTANT)
    assert found.status == "no_data"
    assert found.data["holds_now"] is False


def test_an_expression_prometheus_rejects_is_an_error(prom) -> None:
    assert alert_window(prom, "queue_depth >", INSTANT, INSTANT).status == "error"


def test_the_rule_gives_for_and_interval_and_the_expression_picks_among_namesakes(prom) -> None:
    rule = find_rule(prom, "QueueDeep", 'queue_depth{service="new"}  >  20')
    assert rule is not None
    assert (rule.for_s, rule.interval_s) == (120.0, 30.0)
    assert find_rule(prom, "QueueDeep", "queue_depth > 10").for_s == 300.0
    assert find_rule(prom, "NoSuchAlert") is None


def test_no_prometheus_means_no_rule_rather_than_an_error() -> None:
    assert find_rule(None, "QueueDeep") is None


def test_the_longest_range_of_an_expression() -> None:
    assert longest_range_s("sum(rate(a[5m])) / sum(rate(b[1h]))") == 3600
    assert longest_range_s("max_over_time(x[10m:1m]) > 3") == 600
    assert longest_range_s("up == 0") == 0
