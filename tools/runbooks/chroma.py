"""Building the Chroma client and embedding function from the settings (the edge; nothing connects at import).

- `chroma_url` empty: an embedded `chromadb.PersistentClient` under `data_dir/chroma`.
- `chroma_url` set (`http://host:8000`): a `chromadb.HttpClient` for that server; embeddings are computed here.
- The embedding function is Chroma's default, ONNX all-MiniLM-L6-v2. `embedding_model_dir` names a folder holding
  its `onnx/` files, so that nothing is downloaded; unset, Chroma downloads the model on first use.
Telemetry is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.errors import ConfigError
from agent.settings import Settings
from tools.runbooks.index import RunbookIndex

MODEL_FILES = ("model.onnx", "tokenizer.json")


def embedding_function(model_dir: Path | None = None) -> Any:
    """Chroma's default embedding function, loading the model from `model_dir` (a folder holding onnx/)."""
    from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2

    if model_dir is not None:
        missing = [f for f in MODEL_FILES if not (Path(model_dir) / "onnx" / f).is_file()]
        if missing:
            raise ConfigError(f"embedding_model_dir {model_dir} has no onnx/{', onnx/'.join(missing)}: point it at "
                              "the folder that holds onnx/ (e.g. ../shared/models/all-MiniLM-L6-v2)")
        ONNXMiniLM_L6_V2.DOWNLOAD_PATH = Path(model_dir)
    function = ONNXMiniLM_L6_V2()
    if model_dir is not None:
        function.DOWNLOAD_PATH = Path(model_dir)
        return function
    try:  # fetch it now, where a failure can be said in one line, rather than inside the first search
        function._download_model_if_not_exists()
    except Exception as exc:
        raise ConfigError(
            f"Chroma could not download its embedding model ({type(exc).__name__}: {str(exc)[:160]}); without "
            "internet, set embedding_model_dir (OPSMEDIC_EMBEDDING_MODEL_DIR) to a local copy of "
            "all-MiniLM-L6-v2, the folder that holds onnx/") from exc
    return function


def chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def persistent_client(path: Path) -> Any:
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def http_client(url: str) -> Any:
    import chromadb

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"chroma_url {url!r} is not an http(s) URL like http://127.0.0.1:8000")
    ssl = parts.scheme == "https"
    try:
        return chromadb.HttpClient(host=parts.hostname, port=parts.port or (443 if ssl else 8000), ssl=ssl,
                                   settings=chroma_settings())
    except Exception as exc:  # the client checks the server on creation
        raise ConfigError(f"cannot reach the Chroma server at {url}: {type(exc).__name__}: {exc}") from exc


def chroma_client(settings: Settings) -> Any:
    if settings.chroma_url:
        return http_client(settings.chroma_url)
    return persistent_client(settings.data_dir / "chroma")


def open_index(settings: Settings) -> RunbookIndex:
    """The runbook index the settings describe (not yet synchronised: the first search or
    `ensure_indexed()` does that)."""
    return RunbookIndex(chroma_client(settings), embedding_function(settings.embedding_model_dir),
                        settings.runbooks_dir)
