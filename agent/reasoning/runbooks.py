"""Choosing the winning hypothesis's runbook from the runbook index (tools.runbooks, Chroma).

The query is the hypothesis's kind and cause in words, with the alert name and labels (the index combines the
front matter's match with semantic similarity). Only runbooks of the hypothesis's domain may win; a runbook
whose own signals held for this incident (rule `runbook_signals`) goes first.
"""

from __future__ import annotations

import logging
import weakref
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


KIND_PHRASES: dict[tuple[str, str], str] = {
    ("infra", "oom"): "containers are OOM killed, the memory limit is reached",
    ("infra", "crash_loop"): "pods of a service are crash looping",
    ("infra", "restarts"): "pods of a service keep restarting, crash looping",
    ("infra", "failed_rollout"): "a deployment rollout failed after a deploy; roll back to the previous revision",
    ("infra", "pod_stuck"): "one pod is stuck or unhealthy while its siblings are fine",
    ("infra", "replicas_missing"): "one pod is stuck or unhealthy while its siblings are fine",
    ("infra", "node_pressure"): "a node is under memory, disk or PID pressure, or not ready",
    ("infra", "cpu_throttling"): "CPU throttling slows a service down",
    ("infra", "gpu_xid"): "GPU Xid errors on a node, a hardware or driver fault",
    ("infra", "gpu_memory"): "GPU memory exhausted on a model server, CUDA out of memory",
    ("infra", "kv_cache_saturation"): "model server saturated, vLLM queue backlog, KV cache full",
    ("infra", "queue_saturation"): "model server saturated, vLLM queue backlog, KV cache full",
    ("infra", "dependency_slow"): "a service is slow because a service it calls is slow",
    ("infra", "dependency_failing"): "a service fails because a service it calls returns errors",
    ("provider", "provider_outage"): "LLM provider outage, errors or unavailable",
    ("provider", "provider_errors"): "LLM provider outage, errors or unavailable",
    ("provider", "rate_limit"): "the LLM provider is rate limiting the service, HTTP 429",
    ("provider", "quota"): "provider quota or budget exhausted",
    ("provider", "deprecated_model"): "the provider retired or deprecated the model we call",
    ("provider", "provider_latency"): "LLM provider latency degraded",
    ("prompt", "prompt_format"): "a prompt version breaks the output format, invalid JSON, schema failures",
    ("prompt", "token_bloat"): "a prompt version bloats tokens and spend",
    ("prompt", "eval_regression"): "a prompt version lowers eval scores",
    ("prompt", "refusals"): "a prompt version makes the model refuse ordinary requests",
    ("prompt", "guardrail_blocks"): "a prompt change or injection pattern trips the input guardrails",
    ("model", "model_format"): "a new model version lowers quality and breaks outputs",
    ("model", "eval_regression"): "a new model version lowers online eval scores",
    ("model", "eval_drift"): "quality drifts down without any change on our side",
    ("model", "refusals"): "a new model version refuses more requests or trips guardrails",
    ("model", "feedback"): "negative user feedback rises after a model update",
    ("model", "cost_jump"): "spend jumped after switching model or model version",
    ("model", "latency_jump"): "latency jumped after switching model or model version",
    ("model", "guardrail_blocks"): "a new model version refuses more requests or trips guardrails",
}
"""What each kind of finding means, in words a runbook's title and text share: the search query."""

CHANGE_KINDS = {"infra_change", "model_change", "prompt_change", "provider_change"}


def query_for(cand: Candidate) -> str:
    """The words for the candidate's runbook search: the phrase of its strongest symptom (changes only say
    where to look; they come last), then its strongest notes."""
    ranked = sorted(cand.findings.values(), key=lambda f: (f.kind in CHANGE_KINDS, -f.weight))
    phrases = [KIND_PHRASES[(cand.domain, f.kind)] for f in ranked if (cand.domain, f.kind) in KIND_PHRASES]
    if phrases:
        return phrases[0]
    notes = [f.note for f in ranked if f.note][:3]
    return f"{cand.domain} problem: " + "; ".join(notes)


_MEMO: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], list[Any]]] = weakref.WeakKeyDictionary()


def _memo_search(index: Any, query: str, domain: str) -> list[Any]:
    """`index.search` by meaning alone, remembered per index, query, domain and runbook versions: the kind
    phrases are a fixed set, so after the first incidents no embedding is computed on the diagnosis path."""
    books = index.runbooks() if hasattr(index, "runbooks") else []
    version = tuple(sorted((str(field_of(b, "id")), str(field_of(b, "digest"))) for b in books))
    try:
        memo = _MEMO.setdefault(index, {})
    except TypeError:  # an index that cannot be weakly referenced is searched every time
        return list(index.search(query, alert=None, labels=None, k=SEARCH_K, domain=domain) or [])
    key = (query, domain, version)
    if key not in memo:
        memo[key] = list(index.search(query, alert=None, labels=None, k=SEARCH_K, domain=domain) or [])
    return memo[key]


def choose_runbook(index: Any, cand: Candidate, situation: Situation) -> Any:
    """The best runbook of the candidate's domain, or None (no index, nothing of that domain, search failed).

    With a phrase for the candidate's strongest symptom the search is by meaning alone (the alert name says
    what fired, not why); otherwise it also weighs the alert and its labels, and a runbook whose own signals
    held for this incident goes first."""
    if index is None:
        return None
    query = query_for(cand)
    by_kind = not query.startswith(f"{cand.domain} problem:")
    alert = None if by_kind else situation.labels.get("alertname")
    labels = None if by_kind else situation.labels
    try:
        if by_kind:
            hits = _memo_search(index, query, cand.domain)
        else:
            hits = index.search(query, alert=alert, labels=labels, k=SEARCH_K, domain=cand.domain)
    except Exception as exc:
        log.warning("runbook search failed: %s: %s", type(exc).__name__, exc)
        return None
    books = [runbook_of(hit) for hit in hits or []]
    named = [] if by_kind else [f.entity["runbook"] for f in sorted(cand.findings.values(), key=lambda f: -f.weight)
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
