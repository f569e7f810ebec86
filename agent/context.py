"""The graph's runtime context: everything a node may use that is not state.

A node reads the investigation instant and every client from here — never from globals, never from the wall
clock — so a replayed incident and a live one run exactly the same code. The worker builds one `Context` per
incident run; tests build their own with local servers behind the clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.audit import AuditLog
from agent.settings import Settings
from agent.store import Store


@dataclass
class Clients:
    """Connections to the outside world, built at the edge (`agent.clients.build_clients`) and passed in.

    Each is optional: a missing client makes the tools that need it answer `error` ("not configured"),
    never crash the graph.
    """

    prometheus: Any = None
    """`prometheus_api_client.PrometheusConnect` for the configured Prometheus."""
    kubernetes: Any = None
    """`kubernetes.client.ApiClient` for the configured cluster."""
    cloudwatch_logs: Any = None
    """A boto3 `logs` client."""
    http: Any = None
    """An `httpx.Client` for plain HTTP APIs such as status pages."""
    runbooks: Any = None
    """The runbook index (Chroma)."""
    chat_model: Any = None
    """A LangChain chat model, when an LLM reasoner is configured."""
    notifier: Any = None
    """Where incident updates go (Slack), when configured."""
    policy: Any = None
    """The `agent.policy_models.Policy` loaded once at start-up; None reads the policies folder per decision."""
    catalog: Any = None
    """An `agent.actions` Catalog to act through; None builds one over the Kubernetes client."""
    routing: Any = None
    """The routing adapter (provider, model and prompt selection) the catalog acts on, when given."""
    executor_hook: Callable[[str], None] | None = None
    """Called by the executor between journal steps; tests use it to simulate a crash."""
    bot_ids: Sequence[str] = ()
    """The bot's own Slack user ids, which never count as approvers."""
    approver_groups: Mapping[str, Sequence[str]] | None = None
    """Resolves a Slack user group to its members, for policies that name groups."""


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: Store
    audit: AuditLog
    clients: Clients
    incident_id: str
    instant: datetime
    """The investigation instant: tools look at metrics, logs and state as of this moment."""
    clock: Callable[[], datetime]
    """The wall clock, only for bookkeeping (approval expiry, audit times); never for what tools look at."""
