"""From a diagnosis to a proposal: the first remediation of the winning runbook, parameters filled.

Runbook remediations are parameter templates (DESIGN.md section 5): a string value may hold `{placeholders}`
naming facts about the root cause — `{service}`, `{namespace}`, `{prompt}`, `{prompt_version_previous}`,
`{model_version_previous}`, `{provider}`, `{node}`, `{pod}`, `{kind}`, `{name}`, ... A value that is exactly one
placeholder keeps the fact's type. An optional parameter whose placeholder is unknown is left out (the action
applies its documented default: previous revision, configured fallback provider); a remediation whose required
parameter cannot be filled is skipped for the next one, and the reason says so.

No action when the domain is `none`; `notify.escalate` when the diagnosis is inconclusive or no remediation
can be filled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agent.models import Diagnosis, Proposal
from agent.reasoning.catalog import ACTIONS, check_params

PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class Unfilled(Exception):
    """A template names a fact nobody knows."""


def render(template: Any, facts: Mapping[str, Any]) -> Any:
    """Fill one parameter template from `facts`; raises Unfilled naming the missing placeholder."""
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template.strip())
    if whole:
        name = whole.group(1)
        if facts.get(name) in (None, ""):
            raise Unfilled(name)
        return facts[name]

    def one(match: re.Match[str]) -> str:
        value = facts.get(match.group(1))
        if value in (None, ""):
            raise Unfilled(match.group(1))
        return str(value)

    return PLACEHOLDER.sub(one, template)


def remediations_of(runbook: Any) -> list[tuple[str, dict[str, Any]]]:
    """(action, parameter templates) pairs of a runbook object or mapping, most preferred first."""
    items = runbook.get("remediations", []) if isinstance(runbook, Mapping) else getattr(runbook, "remediations", [])
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items or []:
        if isinstance(item, Mapping):
            action, params = item.get("action") or item.get("type"), item.get("params") or {}
        else:
            action = getattr(item, "action", None) or getattr(item, "type", None)
            params = getattr(item, "params", None) or {}
        if action:
            out.append((str(action), dict(params)))
    return out


def target_of(action: str, params: Mapping[str, Any], incident_id: str) -> str:
    ns = params.get("namespace", "")
    if action in ("k8s.rollout_restart", "k8s.scale"):
        return f"{ns}/{params.get('kind', 'Deployment')}/{params.get('name', '')}"
    if action == "k8s.rollback":
        return f"{ns}/Deployment/{params.get('name', '')}"
    if action == "k8s.cordon":
        return f"Node/{params.get('node', '')}"
    if action == "k8s.delete_pod":
        return f"{ns}/Pod/{params.get('pod', '')}"
    if action == "notify.escalate":
        return f"incident:{incident_id}"
    return f"service:{ns}/{params.get('service', '')}"


def escalate(incident_id: str, reason: str, runbook: str = "") -> Proposal:
    return Proposal(action="notify.escalate", params={"reason": reason}, target=f"incident:{incident_id}",
                    reason=reason, runbook=runbook)


def fill(
    remediations: Sequence[tuple[str, dict[str, Any]]], facts: Mapping[str, Any]
) -> tuple[str, dict[str, Any], list[str]]:
    """The first remediation whose required parameters all fill: (action, params, notes on skipped ones).

    Returns ("", {}, notes) when none fills.
    """
    notes: list[str] = []
    for action, templates in remediations:
        spec = ACTIONS.get(action)
        if spec is None:
            notes.append(f"skipped {action}: not a catalog action")
            continue
        params: dict[str, Any] = {}
        missing = ""
        for name, template in templates.items():
            try:
                params[name] = render(template, facts)
            except Unfilled as exc:
                if name in spec.required:
                    missing = f"{name} needs {{{exc.args[0]}}}, which the evidence does not show"
                    break
        if not missing:
            for name in spec.required:  # parameters the runbook left implicit, taken from the root cause
                if name not in params and facts.get(name) not in (None, ""):
                    params[name] = facts[name]
            problems = check_params(action, params)
            if not problems:
                return action, params, notes
            missing = "; ".join(problems)
        notes.append(f"skipped {action}: {missing}")
    return "", {}, notes


def propose_from_runbook(
    diagnosis: Diagnosis, runbook_id: str, remediations: Sequence[Any], facts: Mapping[str, Any], incident_id: str
) -> Proposal | None:
    """The proposal for `diagnosis`: None when the domain is `none`, `notify.escalate` when inconclusive or
    when no remediation of the runbook (`remediations`: runbook items or {action, params}) can be filled."""
    if diagnosis.status == "inconclusive":
        return escalate(incident_id, f"inconclusive diagnosis: {diagnosis.summary}")
    if diagnosis.domain == "none":
        return None
    if not runbook_id:
        return escalate(incident_id, f"no runbook fits: {diagnosis.summary}")
    action, params, notes = fill(remediations_of({"remediations": list(remediations)}), facts)
    if not action:
        why = "; ".join(notes) or "the runbook lists no remediation"
        return escalate(incident_id, f"runbook {runbook_id}: no remediation applies ({why})", runbook_id)
    reason = f"{diagnosis.summary} — runbook {runbook_id}"
    if notes:
        reason += f" ({'; '.join(notes)})"
    return Proposal(action=action, params=params, target=target_of(action, params, incident_id), reason=reason,
                    runbook=runbook_id)
