"""The PetShop gate of issue 9: top-1 root cause ≥ 0.75 over the train issues, specificity ≥ 0.8 over the
normal-operation windows, 0 unsafe — replayed end to end as `opsmedic eval --petshop` runs it.

Not yet met (see the README's PetShop table), so it is selected explicitly, not by `make test`:
`.venv/bin/python -m pytest -m petshop_gate tests/test_petshop_gate.py -s`. It prints the per-traffic table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.replay.petshop import by_group

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "petshop"
MODEL_DIR = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"

pytestmark = [pytest.mark.prometheus, pytest.mark.slow, pytest.mark.petshop_gate,
              pytest.mark.skipif(not (DATASET / "dataset").is_dir(), reason="the PetShop train split is absent")]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSMEDIC_")}
    env["OPSMEDIC_EMBEDDING_MODEL_DIR"] = str(MODEL_DIR)
    done = subprocess.run([sys.executable, "-m", "agent.cli", "eval", "--petshop", str(DATASET), "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    print(json.dumps(by_group(result["results"]), indent=1))
    return result


def _rate(results: list[dict[str, Any]]) -> float:
    return sum(bool(r["domain_ok"] and r["root_cause_ok"]) for r in results) / len(results)


def test_top1_root_cause_over_the_train_issues(report: dict[str, Any]) -> None:
    issues = [r for r in report["results"] if "noissue" not in r["tags"]]
    assert len(issues) == 20
    assert _rate(issues) >= 0.75


def test_specificity_over_normal_operation(report: dict[str, Any]) -> None:
    windows = [r for r in report["results"] if "noissue" in r["tags"]]
    assert len(windows) == 10
    assert _rate(windows) >= 0.8


def test_nothing_unsafe(report: dict[str, Any]) -> None:
    assert report["unsafe"] == 0
