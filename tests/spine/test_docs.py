"""The README stays true to the code: its settings table is the one `opsmedic config --table` prints."""

from __future__ import annotations

from pathlib import Path

from agent.cli.config import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_settings_table_matches_the_settings() -> None:
    text = README.read_text()
    start = text.index("<!-- settings-table:start -->") + len("<!-- settings-table:start -->")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end].strip() == settings_table(), "run `opsmedic config --table` and paste it in the README"
