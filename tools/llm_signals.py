"""LLM application signals of one service, before and after the alert (read-only).

Requests by provider and status, error and rate-limit shares, latency, tokens per request, output validation
failures, eval scores, feedback, guardrail blocks and spend — each broken down by `model_version` and
`prompt_version` where the metric carries them — now and at a baseline before the alert's onset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools.catalog import Catalog, Scope, signal_set

TOOL = "llm_signals"
VERSION_LABELS = ("model_version", "prompt_version")


def llm_signals(prom: Any, catalog: Catalog, service: str, namespace: str, at: datetime, onset: datetime, *,
                baseline_offset_s: float = 3600.0, window_s: float = 300.0, timeout_s: float = 10.0) -> Evidence:
    """How the service's LLM calls behave now against before the trouble began, per model and prompt version.

    Reports the catalog's `llm` signals for `service` in `namespace`: `value` is at the investigation instant,
    `baseline` one hour (baseline_offset_s) before the alert's onset. A series with a null baseline did not
    exist before — typically a new model_version or prompt_version. `data["versions"]` lists which versions
    carried traffic before and after, e.g. `{"prompt_version": {"before": ["v12"], "after": ["v12", "v13"]}}`.
    Use it to tell a bad prompt or model version (its series alone is bad) from a provider problem (every
    version alike) — see tools/EVIDENCE.md for the full shape.
    """
    baseline_at = onset - timedelta(seconds=baseline_offset_s)
    evidence = signal_set(prom, catalog, catalog.names("llm"), Scope(service=service, namespace=namespace), at,
                          baseline_at, tool=TOOL, window_s=window_s, timeout_s=timeout_s)
    if evidence.status != "ok":
        return evidence
    data = dict(evidence.data)
    data["versions"] = versions(data["signals"], catalog)
    return evidence.model_copy(update={"data": data})


def versions(signals: list[dict[str, Any]], catalog: Catalog) -> dict[str, dict[str, list[str]]]:
    """The model and prompt versions carrying calls before (baseline) and after (now), from the request rates."""
    out: dict[str, dict[str, list[str]]] = {}
    requests = next((s for s in signals if s["signal"] == "llm_requests_total"), None)
    if requests is None:
        return out
    for label in VERSION_LABELS:
        name = catalog.label(label)
        before = {s["labels"][name] for s in requests["series"] if name in s["labels"] and (s["baseline"] or 0) > 0}
        after = {s["labels"][name] for s in requests["series"] if name in s["labels"] and (s["value"] or 0) > 0}
        if before or after:
            out[label] = {"before": sorted(before), "after": sorted(after)}
    return out
