"""`opsmedic runbooks check|index|search`: readable results and one-line errors (exit 2), never tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from tools.runbooks import RunbookIndex

from .conftest import MODEL_DIR, RUNBOOKS


def config(tmp_path: Path, data_dir: Path, runbooks_dir: Path = RUNBOOKS) -> str:
    path = tmp_path / "opsmedic.yaml"
    path.write_text(f"data_dir: {data_dir}\nrunbooks_dir: {runbooks_dir}\nembedding_model_dir: {MODEL_DIR}\n")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_lists_every_runbook_and_the_count_per_domain(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    code, out, _ = run(capsys, "--config", config(tmp_path, tmp_path), "runbooks", "check")
    assert code == 0
    assert "ok  prompt-output-format-broken" in out
    assert "30 runbooks valid (infra 10, model 7, prompt 7, provider 6)" in out


def test_index_reports_unchanged_runbooks_of_an_existing_index(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path, index: RunbookIndex) -> None:
    code, out, _ = run(capsys, "--config", config(tmp_path, data_dir), "runbooks", "index")
    assert code == 0
    assert f"runbook index at {data_dir / 'chroma'}: 0 added, 0 updated, 0 removed, 30 unchanged" in out


def test_index_adds_new_runbooks_and_says_which(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                few_runbooks: Path, ef: Any) -> None:
    code, out, _ = run(capsys, "--config", config(tmp_path, tmp_path / "data", few_runbooks), "runbooks", "index",
                       "--json")
    assert code == 0
    report = json.loads(out)
    assert sorted(report["added"]) == sorted(p.stem for p in few_runbooks.glob("*.md"))


def test_search_prints_ranked_runbooks_with_score_why_and_first_remediation(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path, index: RunbookIndex) -> None:
    code, out, _ = run(capsys, "--config", config(tmp_path, data_dir), "runbooks", "search",
                       "output is not valid JSON", "--alert", "LLMOutputValidationFailures",
                       "--label", "service=summarizer", "-n", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1. prompt-output-format-broken  [prompt]  score ")
    assert "why: alert LLMOutputValidationFailures matches (+0.35); similarity" in lines[2]
    assert "first remediation: prompt.rollback" in lines[3]
    assert lines[4].startswith("2. ") and len([x for x in lines if x[:1].isdigit()]) == 2


def test_search_as_json_filters_by_domain(capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path,
                                          index: RunbookIndex) -> None:
    code, out, _ = run(capsys, "--config", config(tmp_path, data_dir), "runbooks", "search", "calls are failing",
                       "--domain", "provider", "--json")
    assert code == 0
    hits = json.loads(out)
    assert len(hits) == 3 and {h["domain"] for h in hits} == {"provider"}
    assert all(set(h) >= {"id", "score", "similarity", "why", "path"} for h in hits)


@pytest.mark.parametrize(("argv", "message"), [
    (["runbooks", "search", "x", "--label", "service"], "--label expects KEY=VALUE, got 'service'"),
    (["runbooks", "search", "x", "-n", "0"], "-n must be at least 1"),
    (["runbooks", "check", "--dir", "/nonexistent/runbooks"], "runbooks folder /nonexistent/runbooks does not exist"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "--config", config(tmp_path, tmp_path), *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"opsmedic: {message}") and err.count("\n") == 1, err


def test_a_broken_runbook_is_named_by_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    text = (RUNBOOKS / "provider-outage.md").read_text().replace("action: provider.failover",
                                                                  "action: provider.switch")
    (folder / "provider-outage.md").write_text(text)
    code, _, err = run(capsys, "--config", config(tmp_path, tmp_path, folder), "runbooks", "check")
    assert code == 2
    assert f"runbook {folder / 'provider-outage.md'}: field remediations.0" in err
    assert "'provider.switch' is not a catalog action" in err
