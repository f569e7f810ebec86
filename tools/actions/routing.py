"""The routing and registry adapter: where a service's LLM provider route, pinned model version, pinned prompt
versions and traffic limits live. `provider.failover`, `model.rollback`, `prompt.rollback` and `traffic.shed`
change them only through this interface, so a gateway's or a prompt registry's own API can implement it.

The default implementation, `ConfigMapRouting`, keeps them in a ConfigMap that the application reads (mounted
as files or watched), named `<service>-llm-routing` in the service's namespace, with these keys:

| key | meaning | example |
|---|---|---|
| `provider` | the provider the service's model traffic goes to | `openai` |
| `fallback_provider` | where `provider.failover` routes by default | `anthropic` |
| `model_version` | the pinned model version | `2025-04-14` |
| `previous_model_version` | where `model.rollback` goes (the only target it takes) | `2024-11-20` |
| `prompt.<prompt>` | the pinned version of one prompt | `prompt.summarize: v12` |
| `previous_prompt.<prompt>` | where `prompt.rollback` goes (the only target it takes) | `v11` |
| `rate_limit_rps` | requests per second the service may send (absent = unlimited) | `5` |
| `paused` | `"true"` pauses the workflow | `"false"` |

Whatever moves `model_version` or `prompt.<prompt>` (a deploy pipeline, a prompt registry) writes the value it
replaces to the matching `previous_*` key; the rollbacks swap the two, so a revert restores both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from kubernetes.client.exceptions import ApiException

from tools.actions.base import ActionError
from tools.actions.kube import MERGE_PATCH, Kube


class RoutingAdapter(Protocol):
    def read(self, namespace: str, service: str) -> dict[str, str]:
        """The service's current routing values (keys as in this module's table)."""

    def write(self, namespace: str, service: str, changes: Mapping[str, str | None]) -> None:
        """Set the given keys (None removes a key); other keys stay as they are."""


def configmap_name(service: str) -> str:
    return f"{service}-llm-routing"


class ConfigMapRouting:
    """Routing values in the ConfigMap `<service>-llm-routing` (see the module docstring)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def read(self, namespace: str, service: str) -> dict[str, str]:
        try:
            found: Any = self.kube.core.read_namespaced_config_map(configmap_name(service), namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise ActionError(f"ConfigMap {namespace}/{configmap_name(service)} does not exist: service "
                                  f"{service} keeps no routing values there") from exc
            raise ActionError(f"ConfigMap {namespace}/{configmap_name(service)} cannot be read: {exc.status}") from exc
        return dict(found.data or {})

    def write(self, namespace: str, service: str, changes: Mapping[str, str | None]) -> None:
        try:
            self.kube.core.patch_namespaced_config_map(configmap_name(service), namespace, {"data": dict(changes)},
                                                       _content_type=MERGE_PATCH)
        except ApiException as exc:
            raise ActionError(f"ConfigMap {namespace}/{configmap_name(service)} cannot be changed: "
                              f"{exc.status} {exc.reason}") from exc
