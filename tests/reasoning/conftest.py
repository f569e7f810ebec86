"""Fixtures for reasoner tests that run the real graph: settings in a temporary folder, the store, the audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.audit import AuditLog, Redactor
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={}, data_dir=tmp_path / "data", port=0, llm="fake:scripted")


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteStore]:
    s = SqliteStore(settings.sqlite_path, busy_timeout_s=0.2)
    yield s
    s.close()


@pytest.fixture
def audit(store: SqliteStore, settings: Settings) -> AuditLog:
    return AuditLog(store, Redactor(settings.redact_patterns, settings.secrets()))
