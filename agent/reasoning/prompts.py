"""What the LLM reasoner reads: the system prompt and the incident brief (with the offline hypotheses)."""

from __future__ import annotations

import json
from typing import Any

from agent.models import Diagnosis
from agent.reasoning.catalog import ACTIONS
from agent.reasoning.findings import Situation

SUBMIT_TOOL = "submit_diagnosis"

SYSTEM = """You are opsmedic, an incident-response assistant for teams running LLM features in production.
An alert fired. Decide where the fault lies — infra, model, prompt, provider — or that there is none, name
the root-cause entity, and pick the first remediation.

How to work:
- Read the incident brief. It holds the alerts, the change timeline, a digest of the evidence already
  gathered (with evidence ids) and the hypotheses an evidence-scoring reasoner ranked. Treat those as a
  strong prior, not as the answer.
- You may call the read-only tools to look further (metrics, runbooks). They change nothing. You cannot
  act on anything; actions are proposed, then a policy and humans decide.
- Cascades: when a provider is failing, latency and errors on the services calling it are symptoms, the root
  cause is the provider; when a node is under pressure, the restarts of pods on it are symptoms, the root cause
  is the node.
- Choose `none` when the evidence shows no fault (noise, flapping, a planned change that went fine, a resolved
  blip) and then propose no action. Choose status `inconclusive` when no explanation is clearly ahead; never
  guess confidently.
- Finish by calling `{submit}` exactly once. `action` must be one of: {actions}, with these parameters:
{params}
  Use `notify.escalate` (param `reason`) when inconclusive; `null` when the domain is `none`.
- Root-cause keys are among: service, namespace, provider, model, model_version, prompt_version, node, pod.
- Cite the evidence ids you relied on in `evidence`.
"""


def system_prompt() -> str:
    params = "\n".join(
        f"    {spec.name}: {', '.join(spec.required) or '-'}"
        + (f" (optional: {', '.join(spec.optional)})" if spec.optional else "")
        for spec in ACTIONS.values()
    )
    return SYSTEM.replace("{submit}", SUBMIT_TOOL).replace("{actions}", ", ".join(ACTIONS)).replace(
        "{params}", params
    )


def brief(situation: Situation, offline: Diagnosis, max_chars: int = 12_000) -> str:
    """The incident as one message: alerts, changes, evidence digest, offline hypotheses."""
    incident = situation.incident
    body: dict[str, Any] = {
        "incident": {"id": incident.id, "title": incident.title, "labels": incident.labels,
                     "instant": situation.instant.isoformat()},
        "alerts": [{"status": a.status, "labels": a.labels, "annotations": a.annotations,
                    "starts_at": a.starts_at.isoformat()} for a in incident.alerts[:10]],
        "changes": [{"at": c.at.isoformat(), "kind": c.kind, "service": c.service, "namespace": c.namespace,
                     "name": c.name, "from": c.from_, "to": c.to, "actor": c.actor} for c in situation.changes[-20:]],
        "evidence": [{"id": e.id, "tool": e.tool, "status": e.status, "query": e.query[:300],
                      "summary": e.summary[:300], "error": e.error[:200]} for e in situation.evidence],
        "offline_reasoner": {
            "status": offline.status, "domain": offline.domain, "confidence": offline.confidence,
            "root_cause": offline.root_cause, "summary": offline.summary, "runbook": offline.runbook,
            "hypotheses": [h.model_dump(mode="json") for h in offline.hypotheses[:6]],
        },
    }
    text = json.dumps(body, default=str, indent=1)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n... (truncated; use the tools to look further)"
    return "Incident brief (JSON):\n" + text
