"""The scenario file: strict checks that name the file and field, relative times everywhere, placeholders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ConfigError
from agent.replay.placement import place
from agent.replay.scenario import load_scenario, load_scenarios
from agent.replay.times import relative_time

INSTANT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_relative_times_are_signed_durations_or_zero() -> None:
    assert relative_time("-2h30m").total_seconds() == -9000  # type: ignore[union-attr]
    assert relative_time("+90s").total_seconds() == 90  # type: ignore[union-attr]
    assert relative_time("0s").total_seconds() == 0  # type: ignore[union-attr]
    assert relative_time("500m") is None  # a CPU quantity, not a time
    assert relative_time("v13") is None


def test_every_relative_time_becomes_absolute(minimal: dict[str, Any], write: Any) -> None:
    placed = place(load_scenario(write(minimal)), INSTANT)
    assert placed.alert["alerts"][0]["startsAt"] == "2026-11-20T11:56:00Z"
    assert placed.changes[0]["at"] == "2026-11-20T11:20:00Z"
    assert placed.logs[0]["lines"][0]["at"] == "2026-11-20T11:57:00Z"


def test_times_inside_kubernetes_objects_are_converted_but_quantities_are_not(minimal: dict[str, Any],
                                                                              write: Any) -> None:
    placed = place(load_scenario(write(minimal)), INSTANT)
    deployment = placed.kubernetes[0]
    assert deployment["metadata"]["creationTimestamp"] == "2026-10-21T12:00:00Z"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["cpu"] == "500m"


def test_samples_are_placed_one_step_apart_ending_at_the_instant(minimal: dict[str, Any], write: Any) -> None:
    series = place(load_scenario(write(minimal)), INSTANT).series[0]
    assert series.labels == {"service": "summarizer", "namespace": "prod", "prompt_version": "v13"}
    assert [v for _, v in series.samples] == [0, 9, 18, 27, 36, 45]  # the five `_` are left out
    assert series.samples[-1][0] == INSTANT
    assert series.samples[0][0] == datetime(2026, 11, 20, 11, 55, tzinfo=UTC)


def test_too_many_values_for_the_window_is_an_error(minimal: dict[str, Any], write: Any) -> None:
    minimal["metrics"]["series"][0]["values"] = "0+1x11"  # 12 values, 11 steps fit in -10m..0s
    with pytest.raises(ConfigError, match=r"s\.yaml: metrics: .*12 values, but only 11 steps"):
        load_scenario(write(minimal))


@pytest.mark.parametrize(("path", "value", "field"), [
    (("expect", "domain"), "database", "expect.domain"),
    (("expect", "remediation", "accept"), ["k8s.reboot"], "expect.remediation.accept"),
    (("alert", "alerts", 0, "startsAt"), "2026-01-01T00:00:00Z", "alert.alerts.0.startsAt"),
    (("metrics", "series", 0, "values"), "1 2 three", "metrics.series.0.values"),
    (("id",), "Not Kebab", "id"),
    (("logs", 0, "pod"), "", "logs.0"),
])
def test_format_errors_name_the_file_and_the_field(minimal: dict[str, Any], write: Any, path: tuple[Any, ...],
                                                   value: Any, field: str) -> None:
    target = minimal
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file = write(minimal, "broken.yaml")
    with pytest.raises(ConfigError) as err:
        load_scenario(file)
    assert str(file) in str(err.value)
    assert field in str(err.value)


def test_unknown_top_level_fields_are_rejected(minimal: dict[str, Any], write: Any) -> None:
    minimal["expected"] = {}
    with pytest.raises(ConfigError, match="expected: Extra inputs are not permitted"):
        load_scenario(write(minimal))


def test_missing_required_kubernetes_fields_are_filled_and_reported(minimal: dict[str, Any], write: Any) -> None:
    minimal["kubernetes"] = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "summarizer", "namespace": "prod",
                                                                     "labels": {"app": "summarizer"}},
         "spec": {"replicas": 2}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "summarizer-1", "namespace": "prod",
                      "ownerReferences": [{"kind": "Deployment", "name": "summarizer"}]},
         "status": {"containerStatuses": [{"name": "app", "image": "registry.local/s:1", "ready": True,
                                           "restartCount": 2}]}},
    ]
    placed = place(load_scenario(write(minimal)), INSTANT)
    filled = {(f.object, f.field) for f in placed.filled}
    assert ("Deployment prod/summarizer", "spec.selector") in filled
    assert ("Deployment prod/summarizer", "spec.template") in filled
    assert ("Pod prod/summarizer-1", "status.containerStatuses[0].imageID") in filled
    assert ("Pod prod/summarizer-1", "metadata.ownerReferences[0].uid") in filled
    deployment, pod = placed.kubernetes
    assert pod["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "summarizer"}}


def test_objects_the_official_client_rejects_are_reported_with_the_file(minimal: dict[str, Any],
                                                                       write: Any) -> None:
    minimal["kubernetes"] = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                              "status": {"conditions": [{"type": "Ready"}]}}]
    file = write(minimal, "node.yaml")
    with pytest.raises(ConfigError) as err:
        load_scenario(file)
    assert f"{file}: kubernetes[0] (Node n1): the official client rejects it" in str(err.value)
    assert "status" in str(err.value)


def test_a_complete_file_needs_no_placeholders(minimal: dict[str, Any], write: Any) -> None:
    assert place(load_scenario(write(minimal)), INSTANT).filled == []


def test_ids_must_be_unique_across_a_folder(minimal: dict[str, Any], write: Any, tmp_path: Path) -> None:
    write(minimal, "a.yaml")
    write(minimal, "b.yaml")
    with pytest.raises(ConfigError, match="already used"):
        load_scenarios(tmp_path)


def test_only_keeps_one_scenario_and_names_an_unknown_id(minimal: dict[str, Any], write: Any,
                                                        tmp_path: Path) -> None:
    write(minimal, "a.yaml")
    assert [s.id for _, s in load_scenarios(tmp_path, only="summarizer-breaks-json")] == ["summarizer-breaks-json"]
    with pytest.raises(ConfigError, match="no scenario with id 'nope'"):
        load_scenarios(tmp_path, only="nope")


def test_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("id: [unclosed")
    with pytest.raises(ConfigError, match=r"x\.yaml: not valid YAML"):
        load_scenario(path)
