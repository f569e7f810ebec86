"""A malformed policy file stops start-up with an error naming the file, line and field; never allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.policy import load_policies

GOOD_RULE = "  - name: ok\n    match: {actions: [notify.escalate]}\n    effect: allow\n"

BAD_FILES = [
    # (id, text, words the message must contain)
    ("unknown-effect", "rules:\n" + GOOD_RULE + "  - name: bad\n    effect: allow_everything\n",
     ["line 6", "rules.1.effect"]),
    ("misspelled-field", "rules:\n" + GOOD_RULE + "  - name: bad\n    effect: deny\n    approverz: [U1]\n",
     ["line 7", "rules.1.approverz"]),
    ("bad-ttl", "rules:\n  - name: bad\n    effect: require_approval\n    approval_ttl: soon\n",
     ["line 4", "approval_ttl"]),
    ("negative-limit", "rules:\n  - name: bad\n    effect: allow\n    limits:\n      max_replicas: -1\n",
     ["line 5", "rules.0.limits.max_replicas"]),
    ("approval-needs-approvers-count",
     "rules:\n  - name: bad\n    effect: require_approval\n    min_approvals: 0\n", ["line 2", "rules.0"]),
    ("freeze-without-end",
     "rules:\n  - name: bad\n    effect: allow\n    freeze:\n      - {start: '2026-01-01T00:00:00Z'}\n",
     ["line 5", "rules.0.freeze.0"]),
    ("missing-effect", "rules:\n  - name: bad\n    match: {actions: [k8s.scale]}\n", ["line 2", "rules.0.effect"]),
    ("no-rules", "rules: []\n", ["line 1", "rules"]),
    ("not-yaml", "rules:\n  - name: [unclosed\n", ["not valid YAML", "line"]),
    ("not-a-mapping", "- just a list\n", ["line 1", "mapping"]),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_malformed_policy_stops_with_file_line_and_field(tmp_path: Path, text: str, words: list[str]) -> None:
    (tmp_path / "10-good.yaml").write_text("rules:\n" + GOOD_RULE)
    (tmp_path / "20-team.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_policies(tmp_path)
    message = str(caught.value)
    assert "20-team.yaml" in message
    for word in words:
        assert word in message, message


def test_missing_folder_refuses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_policies(tmp_path / "nope")


def test_empty_folder_refuses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no policy files"):
        load_policies(tmp_path)


def test_duplicate_rule_names_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n" + GOOD_RULE)
    (tmp_path / "b.yaml").write_text("rules:\n" + GOOD_RULE)
    with pytest.raises(ConfigError, match="already used"):
        load_policies(tmp_path)


def test_files_are_read_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("rules:\n  - name: second\n    effect: deny\n")
    (tmp_path / "a.yaml").write_text("rules:\n  - name: first\n    effect: allow\n")
    assert [r.name for r in load_policies(tmp_path).rules] == ["first", "second"]
