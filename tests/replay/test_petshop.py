"""The PetShop converter keeps the mapping of ../shared/datasets/petshop/README.md, on the dataset itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.replay import petshop
from agent.replay.notation import expand

DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "petshop"
needs_dataset = pytest.mark.skipif(not (DATASET / "dataset").is_dir(), reason="the PetShop train split is absent")


@pytest.fixture(scope="module")
def cases() -> list[petshop.Case]:
    """The train split, converted once for the module (a few seconds)."""
    return list(petshop.cases(DATASET))


def test_a_rows_sum_is_spread_over_its_minutes_with_the_remainder_first() -> None:
    assert petshop.spread(12) == [3, 3, 2, 2, 2]
    assert petshop.spread(4) == [1, 1, 1, 1, 0]
    assert sum(petshop.spread(777)) == 777


def test_the_latency_cdf_passes_through_the_percentiles_and_keeps_the_average() -> None:
    points = petshop.cdf_points(0.05, 0.1, 0.2, 0.4, average=0.09)
    assert petshop.cdf(points, 0.05) == pytest.approx(0.5)
    assert petshop.cdf(points, 0.4) == pytest.approx(0.99)
    # the mean of a piecewise-linear CDF: each segment's mass at its midpoint
    mean = sum((y1 - y0) * (x0 + x1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False))
    assert mean == pytest.approx(0.09)


@needs_dataset
def test_every_train_issue_and_specificity_window_converts(cases: list[petshop.Case]) -> None:
    issues = [c for c in cases if c.kind == "issue"]
    windows = [c for c in cases if c.kind == "noissue"]
    assert len(issues) == 20  # 8 + 8 + 2 + 2
    assert len(windows) == 10  # 5 cuts of low and of high traffic
    assert {c.document["expect"]["root_cause"]["service"] for c in issues} == {"petsearch"}
    assert all(c.document["expect"]["domain"] == "none" for c in windows)


@needs_dataset
def test_an_issue_has_three_hours_of_history_and_its_alert_starts_five_minutes_after_the_target(
        cases: list[petshop.Case]) -> None:
    case = next(c for c in cases if c.traffic == "low_traffic" and c.name == "issue_0")
    doc = case.document
    target = json.loads((DATASET / "dataset/low_traffic/train/issue_0/target.json").read_text())
    issue = petshop.read_metrics(DATASET / "dataset/low_traffic/train/issue_0/metrics.csv")
    instant = issue["times"][-1] + 4 * 60  # the last row covers four more minutes; its last sample is at 0s
    assert doc["metrics"]["start"] == f"-{41 * 5 - 1}m"
    [alert] = doc["alert"]["alerts"]
    assert alert["startsAt"] == f"{int(target['target']['timestamp'] + 300 - instant)}s"
    assert alert["labels"] == {"alertname": "HTTPLatencyHigh", "service": "petsite", "namespace": "petshop",
                               "severity": "warning"}
    assert "0.12" in alert["generatorURL"]


@needs_dataset
def test_requests_split_by_availability_and_the_graph_has_every_edge(cases: list[petshop.Case]) -> None:
    case = next(c for c in cases if c.traffic == "low_traffic" and c.name == "issue_4")
    series = {s["name"]: expand(s["values"]) for s in case.document["metrics"]["series"]}
    ok = series['http_requests_total{service="petsite",namespace="petshop",petshop_node="PetSite",code="200"}']
    bad = series['http_requests_total{service="petsite",namespace="petshop",petshop_node="PetSite",code="500"}']
    issue = petshop.read_metrics(DATASET / "dataset/low_traffic/train/issue_4/metrics.csv")
    last = issue["nodes"]["PetSite"]
    total, avail = int(round(last["requests"][-1])), last["availability"][-1]
    # the counters' increase over the last row's five minutes is that row's Sum, split by availability
    assert (ok[-1] - ok[-6]) + (bad[-1] - bad[-6]) == total
    assert ok[-1] - ok[-6] == int(round(total * avail / 100))
    edges = [s for s in case.document["metrics"]["series"] if s["name"].startswith("traces_service_graph")]
    assert 'traces_service_graph_request_total{client="petsite",server="petsearch"}' in {s["name"] for s in edges}
    graph = petshop.read_graph(DATASET / "dataset/low_traffic/graph.csv")
    assert len(edges) == len(graph)


@needs_dataset
def test_the_history_comes_from_the_same_time_of_day() -> None:
    noissue = petshop.read_metrics(DATASET / "dataset/low_traffic/noissue/metrics.csv")
    issue = petshop.read_metrics(DATASET / "dataset/low_traffic/train/issue_0/metrics.csv")
    start = petshop.history_start(noissue, issue["times"][0])
    after = noissue["times"][start + petshop.HISTORY_ROWS]
    gap = abs(after % 86400 - issue["times"][0] % 86400)
    assert min(gap, 86400 - gap) <= 150  # within half a row


def test_a_folder_that_is_not_the_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no PetShop traffic folders"):
        list(petshop.cases(tmp_path))


@needs_dataset
def test_the_convert_command_writes_valid_scenario_files(tmp_path: Path) -> None:
    # a small clone: one temporal traffic, which borrows low_traffic's normal operation
    clone = tmp_path / "petshop" / "dataset"
    for part in ("temporal_traffic2", "low_traffic/noissue"):
        shutil.copytree(DATASET / "dataset" / part, clone / part)
    shutil.copy(DATASET / "mapping.json", tmp_path / "petshop" / "mapping.json")
    out = tmp_path / "scenarios"
    done = subprocess.run([sys.executable, "-m", "agent.cli", "petshop", "convert", str(tmp_path / "petshop"),
                           str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "wrote 2 scenario(s)" in done.stdout
    from agent.replay.scenario import load_scenarios

    loaded = load_scenarios(out)
    assert [s.id for _, s in loaded] == ["petshop-temporal-traffic2-train-issue-0",
                                          "petshop-temporal-traffic2-train-issue-1"]
