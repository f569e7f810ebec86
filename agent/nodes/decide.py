from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.errors import ConfigError
from agent.executor import catalog_for
from agent.models import Decision, Proposal
from agent.nodes import audited
from agent.policy import Policy, PolicyRequest, evaluate, load_policies, strictest
from agent.state import State
from tools.actions import ActionError

log = logging.getLogger(__name__)

ENVIRONMENT_LABELS = ("environment", "env")
"""Where an environment is read from: the Namespace's labels first; an alert's labels only narrow it."""


@audited("decide")
async def decide(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Preview the proposal (server-side dry run or the adapter's before/after) and ask the policy whether it
    may run, needs approval, or is denied. The decision names the rule; the preview rides on the proposal."""
    ctx = runtime.context
    proposal = state.proposal
    assert proposal is not None
    decision, previewed = await asyncio.to_thread(_decide, ctx, state, proposal)
    ctx.audit.append(ctx.incident_id, "decision", "system", {
        **decision.model_dump(mode="json"), "action": previewed.action, "target": previewed.target,
        "preview": previewed.preview.get("summary", ""),
    })
    return {"decision": decision, "proposal": previewed}


def _decide(ctx: Context, state: State, proposal: Proposal) -> tuple[Decision, Proposal]:
    paused = ctx.store.get_control("paused") is not None
    now = ctx.clock()
    try:
        action = catalog_for(ctx).get(proposal.action)
        params = action.params(proposal.params)
        target = action.target(params)
    except ActionError as exc:
        return Decision(effect="deny", rule="invalid-proposal", reason=str(exc)), proposal
    proposal = proposal.model_copy(update={"target": target})
    snapshot: dict[str, Any] = {}
    if action.changes_anything and not paused:
        try:
            preview = action.preview(params)
        except ActionError as exc:
            return Decision(effect="deny", rule="preview-failed", reason=f"the preview failed: {exc}"), proposal
        snapshot = preview.snapshot
        proposal = proposal.model_copy(update={"preview": {**preview.as_dict(), "previewed_at": now.isoformat()}})
    decision = policy_decision(ctx, state, proposal, params, snapshot, paused=paused,
                               changes_anything=action.changes_anything)
    return decision, proposal


def policy_decision(
    ctx: Context, state: State, proposal: Proposal, params: Any, snapshot: Mapping[str, Any], *, paused: bool,
    changes_anything: bool,
) -> Decision:
    """Gather the policy's inputs now — from the cluster, the store and the clock — and evaluate.

    The environment and protection come from the target Namespace's labels as the Kubernetes API returns
    them. An alert's `environment`/`env` label is used only when the Namespace carries none; when both are
    there and disagree, the policy is evaluated for each and the stricter decision wins, so an alert label can
    narrow what is allowed but never widen it. The inputs ride on the decision for the check at execution.
    """
    now = ctx.clock()
    labels = state.incident.labels if state.incident else {}
    namespace = str(getattr(params, "namespace", "") or labels.get("namespace", ""))
    service = str(getattr(params, "service", "") or labels.get("service", ""))
    try:
        namespace_labels = _namespace_labels(ctx, namespace) if changes_anything else {}
        policy = _policy(ctx)
    except (ConfigError, ActionError) as exc:
        return Decision(effect="deny", rule="policy-unavailable", reason=str(exc))
    cluster_env = _environment(namespace_labels)
    alert_env = _environment(labels)
    replicas = snapshot.get("replicas")
    request = PolicyRequest(
        action=proposal.action, now=now, params=params.model_dump(mode="json"), target=proposal.target,
        namespace=namespace, service=service, severity=labels.get("severity", ""),
        environment=cluster_env or alert_env, namespace_labels=namespace_labels, paused=paused,
        recent_actions=ctx.store.count_intents(proposal.target, now - timedelta(hours=1)),
        current_replicas=replicas if isinstance(replicas, int) else None,
    )
    decision = evaluate(policy, request)
    if cluster_env and alert_env and alert_env != cluster_env:
        narrowed = evaluate(policy, PolicyRequest(**{**request.__dict__, "environment": alert_env}))
        decision = strictest(decision, narrowed)
    inputs = {
        "paused": paused, "freeze_open": [w.reason or "freeze window" for w in policy.freeze if w.covers(now)],
        "namespace_labels": dict(namespace_labels), "environment": request.environment,
        "environment_source": "namespace" if cluster_env else "alert" if alert_env else "",
        "recent_actions": request.recent_actions, "current_replicas": request.current_replicas,
    }
    return decision.model_copy(update={"inputs": inputs})


def _environment(labels: Mapping[str, str]) -> str:
    return next((labels[k] for k in ENVIRONMENT_LABELS if labels.get(k)), "")


def _policy(ctx: Context) -> Policy:
    """The policy loaded at start-up (`clients.policy`), else the policies folder read now."""
    given = ctx.clients.policy
    return given if isinstance(given, Policy) else load_policies(ctx.settings.policies_dir)


def _namespace_labels(ctx: Context, namespace: str) -> dict[str, str]:
    """The labels of the target's Namespace; a namespace that cannot be read is refused, never assumed open."""
    if not namespace or ctx.clients.kubernetes is None:
        return {}
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    try:
        found = k8s.CoreV1Api(ctx.clients.kubernetes).read_namespace(namespace)
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise ActionError(f"the labels of namespace {namespace} cannot be read ({exc.status}); not acting") from exc
    except Exception as exc:
        raise ActionError(f"the labels of namespace {namespace} cannot be read ({exc}); not acting") from exc
    return dict(found.metadata.labels or {}) if found.metadata else {}
