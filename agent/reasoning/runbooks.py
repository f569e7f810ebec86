"""Choosing the winning hypothesis's runbook from the runbook index (tools.runbooks, Chroma).

The query is the hypothesis's kind and cause in words, with the alert name and labels (the index combines the
front matter's match with semantic similarity). Only runbooks of the hypothesis's domain may win; a runbook
whose own signals held for this incident (rule `runbook_signals`) goes first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agent.reasoning.findings import Situation
from agent.reasoning.hypotheses import Candidate

log = logging.getLogger(__name__)

SEARCH_K = 6


def field_of(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def runbook_of(hit: Any) -> Any:
    """The runbook inside a search hit (hits may wrap it as `.runbook`)."""
    inner = field_of(hit, "runbook")
    return inner if inner is not None else hit


def query_for(cand: Candidate) -> str:
    strongest = cand.strongest
    words = [strongest.kind.replace("_", " ")] if strongest else []
    words += [f.note for f in sorted(cand.findings.values(), key=lambda f: -f.weight) if f.note][:3]
    return f"{cand.domain}: " + "; ".join(words)


def choose_runbook(index: Any, cand: Candidate, situation: Situation) -> Any:
    """The best runbook of the candidate's domain, or None (no index, nothing of that domain, search failed)."""
    if index is None:
        return None
    alert = situation.labels.get("alertname")
    try:
        hits = index.search(query_for(cand), alert=alert, labels=situation.labels, k=SEARCH_K, domain=cand.domain)
    except Exception as exc:
        log.warning("runbook search failed: %s: %s", type(exc).__name__, exc)
        return None
    books = [runbook_of(hit) for hit in hits or []]
    named = [f.entity["runbook"] for f in sorted(cand.findings.values(), key=lambda f: -f.weight)
             if f.entity.get("runbook")]
    for runbook_id in named:  # a runbook whose own signals held wins within its domain
        book = next((b for b in books if field_of(b, "id") == runbook_id), None)
        if book is None and hasattr(index, "get"):
            try:
                book = index.get(runbook_id)
            except Exception:
                book = None
        if book is not None and field_of(book, "domain") == cand.domain:
            return book
    return next((b for b in books if field_of(b, "domain") == cand.domain), None)
