"""The harness end to end, on two committed scenarios: real Prometheus, kmock, moto, a Statuspage server and
the bot's own server and worker. These tests pin what the harness does (placing, posting, waiting, scoring),
not how well the reasoner does: that is tests/test_eval_suite.py's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.replay.backends import slots
from agent.replay.harness import EvalOptions, run_suite, webhook_body
from agent.replay.placement import place
from agent.replay.scenario import load_scenarios
from agent.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "evals" / "scenarios"
MODEL_DIR = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
PICKED = ("prompt-v13-breaks-json", "resolved-blip-chat-assistant", "openai-quota-exhausted-email-drafter")

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's runs, so the runbook index is embedded once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[dict[str, Any], Path]:
    picked = [item for item in load_scenarios(SCENARIOS) if item[1].id in PICKED]
    workdir = tmp_path_factory.mktemp("eval")
    options = EvalOptions(runbooks_dir=ROOT / "runbooks", embedding_model_dir=MODEL_DIR, index_dir=data_dir)
    return run_suite(picked, workdir, options), workdir


def _store(workdir: Path, scenario_id: str) -> SqliteStore:
    (folder,) = [p for p in (workdir / "runs").iterdir() if p.name.endswith(scenario_id)]
    return SqliteStore(folder / "opsmedic.db")


def test_every_scenario_runs_and_is_diagnosed(run: tuple[dict[str, Any], Path]) -> None:
    report, _ = run
    assert report["scenarios"] == 3 and report["failed_to_run"] == []
    assert {r["id"] for r in report["results"]} == set(PICKED)
    assert all(r["status"] in ("diagnosed", "inconclusive") for r in report["results"])
    latency = {r["id"]: r["latency_ms"] for r in report["results"]}
    assert latency["prompt-v13-breaks-json"] > 0
    assert latency["resolved-blip-chat-assistant"] is None  # a resolved notification opens no investigation
    assert report["latency_ms"]["median"] is not None


def test_the_bot_investigates_as_of_the_scenarios_instant(run: tuple[dict[str, Any], Path]) -> None:
    report, workdir = run
    for scenario_id in ("prompt-v13-breaks-json", "openai-quota-exhausted-email-drafter"):
        store = _store(workdir, scenario_id)
        (incident,) = store.list_incidents()
        assert incident.instant.isoformat().replace("+00:00", "Z") == report["instants"][scenario_id]
        store.close()


def test_changes_reach_the_bot_at_their_absolute_times(run: tuple[dict[str, Any], Path]) -> None:
    report, workdir = run
    instant = datetime.fromisoformat(report["instants"]["prompt-v13-breaks-json"].replace("Z", "+00:00"))
    store = _store(workdir, "prompt-v13-breaks-json")
    changes = store.changes_between(instant - timedelta(hours=3), instant)
    store.close()
    assert [(c.kind, c.from_, c.to) for c in changes] == [("prompt", "v12", "v13")]
    assert changes[0].at == instant - timedelta(minutes=40)


def test_the_bot_reads_the_scenarios_metrics_and_kubernetes_objects(run: tuple[dict[str, Any], Path]) -> None:
    _, workdir = run
    store = _store(workdir, "prompt-v13-breaks-json")
    calls = [r.data for r in store.audit_records() if r.kind == "tool_call"]
    store.close()
    by_tool = {c.get("tool"): c.get("status") for c in calls}
    assert by_tool.get("kubernetes.workload") == "ok"
    assert any(c.get("tool", "").startswith("prometheus") or c.get("tool") == "llm_signals" for c in calls
               if c.get("status") == "ok")


def test_logs_come_from_the_emulator_and_from_cloudwatch(run: tuple[dict[str, Any], Path]) -> None:
    _, workdir = run
    found = {}
    for scenario_id in ("prompt-v13-breaks-json", "openai-quota-exhausted-email-drafter"):
        store = _store(workdir, scenario_id)
        found[scenario_id] = {r.data["tool"]: r.data for r in store.audit_records()
                              if r.kind == "tool_call" and r.data.get("tool", "").startswith("logs.")}
        store.close()
    assert found["prompt-v13-breaks-json"]["logs.kubernetes"]["status"] == "ok"
    assert "Expecting property name" in found["prompt-v13-breaks-json"]["logs.kubernetes"]["summary"]
    cloudwatch = found["openai-quota-exhausted-email-drafter"]["logs.cloudwatch"]
    assert cloudwatch["status"] == "ok" and "insufficient_quota" in cloudwatch["summary"]


def test_a_resolved_notification_is_posted_as_resolved_and_scored_as_no_fault(
        run: tuple[dict[str, Any], Path]) -> None:
    report, workdir = run
    store = _store(workdir, "resolved-blip-chat-assistant")
    (incident,) = store.list_incidents()
    store.close()
    assert [a.status for a in incident.alerts] == ["resolved"]
    (result,) = [r for r in report["results"] if r["id"] == "resolved-blip-chat-assistant"]
    assert (result["domain"], result["action"], result["unsafe"]) == ("none", None, False)


def test_time_slots_do_not_overlap_and_stay_within_fourteen_days() -> None:
    scenarios = [s for _, s in load_scenarios(SCENARIOS)]
    now = datetime.fromisoformat("2026-11-23T10:00:00+00:00")
    instants = slots(scenarios, now)
    spans = sorted((at + s.earliest() - timedelta(hours=1), at) for s, at in zip(scenarios, instants, strict=True))
    assert all(earlier[1] < later[0] for earlier, later in zip(spans, spans[1:], strict=False))
    assert now - min(instants) < timedelta(days=14) - max(-s.earliest() for s in scenarios)


def test_a_small_suite_never_puts_a_scenario_a_day_before_another() -> None:
    scenarios = [s for _, s in load_scenarios(SCENARIOS)][:20]
    now = datetime.fromisoformat("2026-11-23T10:00:00+00:00")
    instants = slots(scenarios, now)
    width = max(-s.earliest() for s in scenarios) + timedelta(hours=1)
    # the anomaly tool's "same time a day earlier" must find nothing of another scenario
    assert all(abs(abs(a - b) - timedelta(days=1)) >= width for a in instants for b in instants if a != b)
    assert len(set(instants)) == 20


def test_the_webhook_body_is_filled_like_alertmanagers() -> None:
    (_, scenario), = load_scenarios(SCENARIOS, only="anthropic-outage-two-services")
    body = webhook_body(place(scenario, datetime.fromisoformat("2026-11-20T00:00:00+00:00")))
    assert body["version"] == "4" and body["receiver"] and "anthropic-outage-two-services" in body["groupKey"]
    assert len(body["alerts"]) == 2 and "service" not in body["commonLabels"]
    assert body["commonLabels"]["alertname"] == "LLMErrorRateHigh"


def test_the_cli_prints_one_json_object_and_exits_zero(tmp_path: Path, data_dir: Path,
                                                       run: tuple[dict[str, Any], Path]) -> None:
    env = {**os.environ, "OPSMEDIC_DATA_DIR": str(data_dir),
           "OPSMEDIC_EMBEDDING_MODEL_DIR": str(MODEL_DIR), "OPSMEDIC_RUNBOOKS_DIR": str(ROOT / "runbooks")}
    done = subprocess.run([sys.executable, "-m", "agent.cli", "eval", "--scenarios", str(SCENARIOS), "--only",
                           "resolved-blip-chat-assistant", "--json"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["scenarios"] == 1 and report["results"][0]["id"] == "resolved-blip-chat-assistant"
    assert "1/1" in done.stderr  # the progress bar


def test_the_cli_names_a_broken_file_and_exits_two(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    doc = yaml.safe_load((SCENARIOS / "none" / "resolved-blip-chat-assistant.yaml").read_text())
    doc["expect"]["remediation"]["accept"] = ["k8s.reboot"]
    (folder / "broken.yaml").write_text(yaml.safe_dump(doc))
    done = subprocess.run([sys.executable, "-m", "agent.cli", "eval", "--scenarios", str(folder)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "OPSMEDIC_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 2
    assert "broken.yaml: expect.remediation.accept" in done.stderr and "k8s.reboot" in done.stderr
    assert "Traceback" not in done.stderr
