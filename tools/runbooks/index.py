"""The runbook index: runbooks embedded in a Chroma collection, searched by alert match plus meaning.

Each runbook becomes a few passages (its card — title, domain, symptoms, Meaning and signal names — then
Diagnosis, then Impact with Mitigation), because the embedding model reads at most 256 tokens of each. Every
passage carries the runbook's content hash and the passage layout's version in its metadata:
`ensure_indexed()` re-embeds only runbooks whose file changed, adds new ones and deletes removed ones.

Scoring (what `search` ranks by, highest first):

    score = similarity + ALERT_BONUS (the alert name matches `match.alerts`)
                       + LABEL_BONUS (the runbook has label matchers and every one matches the labels)

`similarity` is the cosine similarity between the query and the runbook's closest passage (-1..1; related
text lands around 0.3-0.7). The bonuses make the front matter's match dominate among runbooks of similar
meaning without letting an alert name alone override a clearly different cause. Each hit says why it scored.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import NotFound
from tools.runbooks.loader import load_runbooks
from tools.runbooks.model import Runbook

log = logging.getLogger(__name__)

COLLECTION = "opsmedic_runbooks"
ALERT_BONUS = 0.35
LABEL_BONUS = 0.15
PARTS = ("card", "diagnosis", "mitigation")
QUERY_CACHE = 256
PASSAGES_VERSION = "p2"
"""Bump when `passages` changes what it embeds: every runbook is then re-embedded once."""


@dataclass(frozen=True)
class Hit:
    """One search result: the runbook, its score and why."""

    runbook: Runbook
    score: float
    similarity: float
    alert_match: bool
    label_match: bool
    passage: str
    """Which passage was closest: card, diagnosis or mitigation."""
    why: str

    @property
    def id(self) -> str:
        return self.runbook.id

    @property
    def domain(self) -> str:
        return self.runbook.domain

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.runbook.title, "domain": self.domain, "score": round(self.score, 4),
                "similarity": round(self.similarity, 4), "alert_match": self.alert_match,
                "label_match": self.label_match, "passage": self.passage, "why": self.why,
                "path": self.runbook.path}


@dataclass(frozen=True)
class IndexReport:
    """What `ensure_indexed` did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def embedded(self) -> list[str]:
        return [*self.added, *self.updated]


def alert_matches(book: Runbook, alert: str | None) -> bool:
    return bool(alert) and any(fnmatch.fnmatchcase(str(alert), pattern) for pattern in book.match.alerts)


def labels_match(book: Runbook, labels: Mapping[str, str] | None) -> bool:
    """True when the runbook has label matchers and every one fully matches the given labels."""
    if not book.match.labels or not labels:
        return False
    return all(key in labels and re.fullmatch(pattern, str(labels[key]))
               for key, pattern in book.match.labels.items())


def plain(markdown: str) -> str:
    """Markdown without the marks that carry no meaning for the embedding."""
    text = re.sub(r"[`*_#>|]", " ", markdown)
    return re.sub(r"\s+", " ", text).strip()


def index_key(book: Runbook) -> str:
    """What a stored passage must carry to count as current: the passage layout's version and the file's hash."""
    return f"{PASSAGES_VERSION}:{book.digest}"


def passages(book: Runbook) -> dict[str, str]:
    """The texts embedded for one runbook, by part."""
    signals = ", ".join(s.name.replace("_", " ") for s in book.signals)
    card = (f"{book.title}. A {book.domain} problem: {'; '.join(book.symptoms)}. {plain(book.section('meaning'))} "
            f"Signals: {signals}.")
    return {
        "card": card,
        "diagnosis": f"{book.title}. {plain(book.section('diagnosis'))}",
        "mitigation": f"{book.title}. {plain(book.section('impact'))} {plain(book.section('mitigation'))}",
    }


class RunbookIndex:
    """Runbooks of `runbooks_dir` in a Chroma collection of `client`, embedded with `embedding_function`.

    Build it at the edge (`tools.runbooks.open_index(settings)`) and reuse it: the runbooks are read and the
    collection synchronised once, on the first `ensure_indexed()` or `search()`; call `ensure_indexed()` again
    to pick up edited files. Safe to share between threads.
    """

    def __init__(self, client: Any, embedding_function: Any, runbooks_dir: Path | str, *,
                 collection: str = COLLECTION) -> None:
        self.client = client
        self.embedding_function = embedding_function
        self.runbooks_dir = Path(runbooks_dir)
        self.collection_name = collection
        self._books: dict[str, Runbook] = {}
        self._collection: Any = None
        self._ready = False
        self._lock = threading.RLock()
        self._queries: dict[str, Any] = {}

    def _open(self) -> Any:
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.collection_name, embedding_function=self.embedding_function,
                metadata={"hnsw:space": "cosine"},
            )
        return self._collection

    def ensure_indexed(self) -> IndexReport:
        """Read the runbooks (ConfigError on a bad file) and bring the collection in step with them: embed new
        and changed runbooks, delete removed ones, leave the rest alone."""
        with self._lock:
            started = time.perf_counter()
            books = {b.id: b for b in load_runbooks(self.runbooks_dir)}
            collection = self._open()
            stored = collection.get(include=["metadatas"])
            keys: dict[str, set[str]] = {}
            ids_of: dict[str, list[str]] = {}
            for pid, meta in zip(stored["ids"], stored["metadatas"] or [], strict=False):
                rid = str((meta or {}).get("runbook", ""))
                keys.setdefault(rid, set()).add(str((meta or {}).get("digest", "")))
                ids_of.setdefault(rid, []).append(pid)
            added = [rid for rid in books if rid not in ids_of]
            updated = [rid for rid, book in books.items() if rid in ids_of
                       and (keys[rid] != {index_key(book)} or len(ids_of[rid]) != len(PARTS))]
            removed = [rid for rid in ids_of if rid not in books]
            unchanged = [rid for rid in books if rid not in added and rid not in updated]
            doomed = [pid for rid in (*updated, *removed) for pid in ids_of[rid]]
            if doomed:
                collection.delete(ids=doomed)
            ids, docs, metas = [], [], []
            for rid in (*added, *updated):
                book = books[rid]
                for part, text in passages(book).items():
                    ids.append(f"{book.id}::{part}")
                    docs.append(text)
                    metas.append({"runbook": book.id, "digest": index_key(book), "domain": book.domain, "part": part})
            if ids:
                collection.add(ids=ids, documents=docs, metadatas=metas)
            self._books, self._ready = books, True
            report = IndexReport(added, updated, removed, unchanged, time.perf_counter() - started)
            log.info("runbook index: %d added, %d updated, %d removed, %d unchanged in %.2f s",
                     len(added), len(updated), len(removed), len(unchanged), report.seconds)
            return report

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.ensure_indexed()

    def warm_up(self) -> IndexReport:
        """Synchronise the collection and load the embedding model now, so that the first incident's search does
        not pay for either (call it when the server starts)."""
        report = self.ensure_indexed()
        self.embedding_function(["warm up"])
        return report

    def runbooks(self) -> list[Runbook]:
        self._ensure()
        return list(self._books.values())

    def get(self, runbook_id: str) -> Runbook:
        """The runbook with this id; NotFound naming the known ids otherwise."""
        self._ensure()
        try:
            return self._books[runbook_id]
        except KeyError:
            raise NotFound(f"no runbook {runbook_id!r} (known: {', '.join(sorted(self._books))})") from None

    def search(self, query: str, alert: str | None = None, labels: Mapping[str, str] | None = None, k: int = 3,
               *, domain: str | None = None) -> list[Hit]:
        """The `k` runbooks that best fit an incident, best first (see the module docstring for the score).

        `query`: what is seen, in words (an alert summary, a hypothesis). `alert`: the alert name (default:
        `labels["alertname"]`). `labels`: the alert's labels, for the front matter's label matchers.
        `domain`: only runbooks of this domain (infra, model, prompt, provider).
        """
        self._ensure()
        alert = alert or (labels or {}).get("alertname")
        books = {rid: b for rid, b in self._books.items() if domain is None or b.domain == domain}
        if not books or k <= 0:
            return []
        best: dict[str, tuple[float, str]] = {}
        if query.strip():
            collection = self._open()
            found = collection.query(query_embeddings=[self._embed(query)], n_results=max(1, collection.count()),
                                     include=["distances", "metadatas"])
            for dist, meta in zip(found["distances"][0], found["metadatas"][0], strict=False):
                rid, part = str(meta.get("runbook", "")), str(meta.get("part", ""))
                sim = 1.0 - float(dist)
                if rid in books and (rid not in best or sim > best[rid][0]):
                    best[rid] = (sim, part)
        hits = [self._hit(book, best.get(rid, (0.0, "")), alert, labels) for rid, book in books.items()]
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:k]

    def _embed(self, query: str) -> Any:
        """The query's embedding; recent queries are remembered (the same alert asks the same question)."""
        with self._lock:
            cached = self._queries.get(query)
        if cached is not None:
            return cached
        vector = self.embedding_function([query])[0]
        with self._lock:
            if len(self._queries) >= QUERY_CACHE:
                self._queries.pop(next(iter(self._queries)))
            self._queries[query] = vector
        return vector

    @staticmethod
    def _hit(book: Runbook, closest: tuple[float, str], alert: str | None,
             labels: Mapping[str, str] | None) -> Hit:
        similarity, part = closest
        by_alert, by_labels = alert_matches(book, alert), labels_match(book, labels)
        score = similarity + (ALERT_BONUS if by_alert else 0.0) + (LABEL_BONUS if by_labels else 0.0)
        why = [f"similarity {similarity:.2f} ({part or 'no query'})"]
        if by_alert:
            why.insert(0, f"alert {alert} matches (+{ALERT_BONUS:g})")
        if by_labels:
            why.insert(0 if not by_alert else 1, f"labels {', '.join(book.match.labels)} match (+{LABEL_BONUS:g})")
        return Hit(book, score, similarity, by_alert, by_labels, part, "; ".join(why))
