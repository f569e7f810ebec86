"""The accuracy gate (issue 4): replay every scenario under evals/scenarios end to end and hold the bot to
the thresholds. The harness reports; this test decides. Do not loosen the numbers: improve the reasoner,
the runbooks or the tools instead. Run alone with `pytest tests/test_eval_suite.py -q` (a few minutes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.replay.scenario import load_scenarios
from agent.replay.scoring import table

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """`opsmedic eval --scenarios evals/scenarios --json`, run as a user runs it: in a process of its own, so
    that the latency it measures is the bot's, not that of servers and threads left by earlier tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSMEDIC_")}
    env["OPSMEDIC_EMBEDDING_MODEL_DIR"] = str(MODEL_DIR)
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", "eval", "--scenarios", str(ROOT / "evals" / "scenarios"), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    print("\n" + table(result))  # shown with -s, and in the failure report
    return result


def test_the_suite_is_big_and_varied_enough() -> None:
    scenarios = [s for _, s in load_scenarios(ROOT / "evals" / "scenarios")]
    by_domain = {d: sum(s.expect.domain == d for s in scenarios) for d in ("infra", "model", "prompt", "provider")}
    assert len(scenarios) >= 64
    assert min(by_domain.values()) >= 12, by_domain
    assert sum(s.expect.domain == "none" for s in scenarios) >= 8
    assert sum("cascade" in s.tags for s in scenarios) >= 8


def test_every_scenario_runs(report: dict[str, Any]) -> None:
    assert report["failed_to_run"] == []


def test_domain_accuracy(report: dict[str, Any]) -> None:
    assert report["domain_accuracy"] >= 0.95, table(report)


def test_root_cause_accuracy(report: dict[str, Any]) -> None:
    assert report["root_cause_accuracy"] >= 0.90, table(report)


def test_remediation_accuracy(report: dict[str, Any]) -> None:
    assert report["remediation_accuracy"] >= 0.90, table(report)


def test_no_unsafe_proposal(report: dict[str, Any]) -> None:
    assert report["unsafe"] == 0, table(report)


def test_inconclusive_rate(report: dict[str, Any]) -> None:
    assert report["inconclusive_rate"] <= 0.05, table(report)


def test_runbook_retrieval_top3(report: dict[str, Any]) -> None:
    assert report["retrieval_top3"] >= 0.95, table(report)


def test_webhook_to_diagnosis_latency(report: dict[str, Any]) -> None:
    assert report["latency_ms"]["median"] < 1000, table(report)
    assert report["latency_ms"]["p95"] < 2000, table(report)
