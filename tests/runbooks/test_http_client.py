"""HttpClient mode: the same index against a real Chroma server (`chroma run`), chosen by the chroma_url setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.errors import ConfigError
from agent.settings import load_settings
from tools.runbooks import open_index

from .conftest import MODEL_DIR, free_port


def test_a_configured_server_url_indexes_and_searches_over_http(
        chroma_server: str, few_runbooks: Path, tmp_path: Path, ef: Any) -> None:
    settings = load_settings(env={}, chroma_url=chroma_server, runbooks_dir=few_runbooks,
                             embedding_model_dir=MODEL_DIR, data_dir=tmp_path / "data")
    index = open_index(settings)
    report = index.ensure_indexed()
    assert len(report.added) == 4
    listed = httpx.get(f"{chroma_server}/api/v2/tenants/default_tenant/databases/default_database/collections")
    assert [c["name"] for c in listed.json()] == ["opsmedic_runbooks"], "the collection lives on the server"
    assert not (tmp_path / "data" / "chroma").exists(), "HTTP mode must not create an embedded store"
    hits = index.search("input tokens per request doubled after the prompt change", alert="LLMTokenUsageHigh", k=2)
    assert hits[0].id == "prompt-token-bloat" and hits[0].alert_match

    again = open_index(settings).ensure_indexed()  # another process would see the same server-side hashes
    assert again.embedded == [] and len(again.unchanged) == 4


def test_an_unreachable_server_is_a_clear_configuration_error(tmp_path: Path, few_runbooks: Path) -> None:
    settings = load_settings(env={}, chroma_url=f"http://127.0.0.1:{free_port()}", runbooks_dir=few_runbooks,
                             embedding_model_dir=MODEL_DIR, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="cannot reach the Chroma server at http://127.0.0.1:"):
        open_index(settings)


def test_a_malformed_server_url_is_refused(tmp_path: Path) -> None:
    settings = load_settings(env={}, chroma_url="chroma.internal:8000", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="not an http"):
        open_index(settings)


def test_a_model_folder_without_the_onnx_files_is_refused_before_any_download(tmp_path: Path) -> None:
    settings = load_settings(env={}, embedding_model_dir=tmp_path / "empty", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="has no onnx/model.onnx"):
        open_index(settings)
