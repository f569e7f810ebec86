"""Indexing in embedded Chroma: everything the first time, nothing when nothing changed (even from a fresh
process), only the edited runbook after an edit, and removed runbooks disappear from the collection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2

from tools.runbooks import RunbookIndex
from tools.runbooks.chroma import persistent_client
from tools.runbooks.index import PARTS

from .conftest import MODEL_DIR


class CountingEmbedder(ONNXMiniLM_L6_V2):  # type: ignore[misc]
    """Chroma's default embedding function, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.DOWNLOAD_PATH = MODEL_DIR
        self.texts: list[str] = []

    def __call__(self, input: Any) -> Any:  # noqa: A002 - Chroma's protocol names it `input`
        self.texts.extend(input)
        return super().__call__(input)


@pytest.fixture(scope="module")
def shared_embedder(ef: Any) -> CountingEmbedder:
    """One embedder (the model loads once) shared by the indexes of this module."""
    return CountingEmbedder()


@pytest.fixture
def build(shared_embedder: CountingEmbedder) -> Any:
    def make(chroma_dir: Path, folder: Path) -> tuple[RunbookIndex, CountingEmbedder]:
        shared_embedder.texts.clear()
        return RunbookIndex(persistent_client(chroma_dir), shared_embedder, folder), shared_embedder

    return make


def passage_ids(index: RunbookIndex) -> set[str]:
    return set(index.client.get_collection(index.collection_name).get()["ids"])


def test_the_first_index_embeds_every_runbook(tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    report = index.ensure_indexed()
    assert sorted(report.added) == sorted(p.stem for p in few_runbooks.glob("*.md"))
    assert len(embedder.texts) == 4 * len(PARTS)
    assert len(passage_ids(index)) == 4 * len(PARTS)


def test_unchanged_runbooks_are_not_embedded_again_even_by_a_new_process(
        tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    first, _ = build(tmp_path / "chroma", few_runbooks)
    first.ensure_indexed()
    second, embedder = build(tmp_path / "chroma", few_runbooks)  # a new index over the same folder, as on restart
    report = second.ensure_indexed()
    assert report.embedded == [] and report.removed == []
    assert len(report.unchanged) == 4
    assert embedder.texts == []


def test_an_edited_runbook_is_re_embedded_alone_and_its_new_text_is_found(
        tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    index.ensure_indexed()
    embedder.texts.clear()
    query = "the walrus feeding cron job"
    assert index.search(query, k=1)[0].id != "infra-oom-killed"
    embedder.texts.clear()
    path = few_runbooks / "infra-oom-killed.md"
    path.write_text(path.read_text().replace("title: Containers are OOM killed (memory limit reached)",
                                             "title: The walrus feeding cron job is OOM killed"))
    report = index.ensure_indexed()
    assert report.updated == ["infra-oom-killed"]
    assert report.added == [] and len(report.unchanged) == 3
    assert len(embedder.texts) == len(PARTS)
    assert all(text.startswith("The walrus feeding cron job") for text in embedder.texts)
    hits = index.search(query, k=1)
    assert hits[0].id == "infra-oom-killed"
    assert hits[0].runbook.digest == index.get("infra-oom-killed").digest


def test_a_removed_runbook_is_deleted_from_the_collection(tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    index.ensure_indexed()
    embedder.texts.clear()
    (few_runbooks / "provider-outage.md").unlink()
    report = index.ensure_indexed()
    assert report.removed == ["provider-outage"]
    assert embedder.texts == []
    assert not [pid for pid in passage_ids(index) if pid.startswith("provider-outage::")]
    assert "provider-outage" not in [h.id for h in index.search("provider outage, status page incident", k=4)]


def test_a_new_runbook_is_added_without_touching_the_others(tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    index.ensure_indexed()
    embedder.texts.clear()
    source = few_runbooks.parent / "extra.md"
    source.write_text((few_runbooks / "prompt-token-bloat.md").read_text()
                      .replace("id: prompt-token-bloat", "id: prompt-token-bloat-copy"))
    source.rename(few_runbooks / "prompt-token-bloat-copy.md")
    report = index.ensure_indexed()
    assert report.added == ["prompt-token-bloat-copy"] and report.updated == []
    assert len(embedder.texts) == len(PARTS)


def test_a_runbook_with_missing_passages_is_embedded_again(tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    index.ensure_indexed()
    index.client.get_collection(index.collection_name).delete(ids=["provider-outage::diagnosis"])  # an interrupted run
    embedder.texts.clear()
    report = index.ensure_indexed()
    assert report.updated == ["provider-outage"] and len(report.unchanged) == 3
    assert len(embedder.texts) == len(PARTS)
    assert {f"provider-outage::{part}" for part in PARTS} <= passage_ids(index)


def test_a_repeated_query_is_embedded_once(tmp_path: Path, few_runbooks: Path, build: Any) -> None:
    index, embedder = build(tmp_path / "chroma", few_runbooks)
    index.ensure_indexed()
    embedder.texts.clear()
    first = index.search("calls to the provider fail with 503", k=2)
    second = index.search("calls to the provider fail with 503", k=2)
    assert embedder.texts == ["calls to the provider fail with 503"]
    assert [h.id for h in first] == [h.id for h in second] and first[0].id == "provider-outage"


def test_a_model_that_cannot_be_downloaded_is_one_clear_error(tmp_path, closed_port_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2

    from agent.errors import ConfigError
    from tools.runbooks.chroma import embedding_function

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", tmp_path / "no-model")
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "MODEL_DOWNLOAD_URL", f"{closed_port_url}/onnx.tar.gz")
    with pytest.raises(ConfigError, match="set embedding_model_dir"):
        embedding_function(None)
