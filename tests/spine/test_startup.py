"""Start-up refuses to run on a policy it cannot read: it never falls back to acting without one."""

from __future__ import annotations

from pathlib import Path

import yaml

from agent.cli import main


def test_a_malformed_policy_stops_start_up_naming_file_and_line(tmp_path: Path, capsys) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "team.yaml").write_text("rules:\n  - name: oops\n    effect: maybe\n")
    config = tmp_path / "opsmedic.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "policies_dir": str(policies)}))
    assert main(["--config", str(config), "worker", "--until-idle"]) == 2
    error = capsys.readouterr().err
    assert "team.yaml" in error
    assert "effect" in error


def test_a_missing_policies_folder_stops_start_up(tmp_path: Path, capsys) -> None:
    config = tmp_path / "opsmedic.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "policies_dir": str(tmp_path / "nowhere")}))
    assert main(["--config", str(config), "worker", "--until-idle"]) == 2
    assert "will not act without a policy" in capsys.readouterr().err
