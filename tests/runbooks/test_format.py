"""A runbook that breaks the format gives one clear error naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from tools.runbooks import load_runbooks

from .conftest import RUNBOOKS

GOOD = (RUNBOOKS / "prompt-output-format-broken.md").read_text()


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path / "books", "broken.md", text)
    with pytest.raises(ConfigError) as caught:
        load_runbooks(path.parent)
    message = str(caught.value)
    assert str(path) in message, message
    return message


def test_the_good_runbook_loads() -> None:
    assert [b.id for b in load_runbooks(RUNBOOKS) if b.id == "prompt-output-format-broken"]


def test_an_action_outside_the_catalog_is_named_with_its_field(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("action: prompt.rollback", "action: prompt.delete"))
    assert "field remediations.0" in message and "'prompt.delete' is not a catalog action" in message


def test_a_wrong_parameter_name_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("to_version: '{prompt_version_previous}'",
                                               "version: '{prompt_version_previous}'"))
    assert "field remediations.0" in message and "takes no parameter(s) version" in message


def test_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("{prompt_version_previous}", "{previous_prompt}"))
    assert "field remediations.0" in message and "previous_prompt" in message


def test_an_unknown_domain_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("domain: prompt", "domain: network"))
    assert "field domain" in message


def test_a_condition_that_is_not_a_comparison_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("supports_when: '> 0.05'", "supports_when: 'high'"))
    assert "field signals.0.supports_when" in message and "'high' is not a condition" in message


def test_an_unknown_front_matter_field_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("domain: prompt", "domain: prompt\nowner: team-x"))
    assert "field owner" in message


def test_a_missing_section_is_named(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("## Impact", "## Effects"))
    assert "## Impact" in message


def test_a_file_without_front_matter_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, "# Just a note\n\nNo front matter here.\n")
    assert "must start with a '---' line" in message


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("title: A prompt", "title: [A prompt"))
    assert "not valid YAML" in message


def test_a_duplicate_id_names_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    write(folder, "a.md", GOOD)
    second = write(folder, "b.md", GOOD)
    with pytest.raises(ConfigError) as caught:
        load_runbooks(folder)
    assert str(second) in str(caught.value) and str(folder / "a.md") in str(caught.value)
    assert "field id" in str(caught.value)


def test_a_missing_folder_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="runbooks_dir"):
        load_runbooks(tmp_path / "nowhere")


def test_the_readme_of_the_runbooks_folder_is_not_a_runbook(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    write(folder, "README.md", "# How to write a runbook\n")
    write(folder, "good.md", GOOD)
    assert [b.id for b in load_runbooks(folder)] == ["prompt-output-format-broken"]
