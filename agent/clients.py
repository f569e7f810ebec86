"""Building the clients at the edge, from the settings. Nothing here connects until a tool makes a call."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from agent.context import Clients
from agent.settings import Settings

log = logging.getLogger(__name__)


POOL_SIZE = 32
"""HTTP connections kept per backend: more than the investigation's parallel calls."""


def prometheus_client(settings: Settings) -> Any:
    """PrometheusConnect with the tool timeout and one quick retry (its default retries for a long time)."""
    from prometheus_api_client import PrometheusConnect
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=1, backoff_factor=0.1, status_forcelist=(502, 503, 504), allowed_methods=None)
    prom = PrometheusConnect(url=settings.prometheus_url, disable_ssl=False, retry=retry,
                             timeout=settings.tool_timeout_s)
    # the investigation queries in parallel: keep a connection per concurrent query instead of reconnecting
    adapter = HTTPAdapter(max_retries=retry, pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
    prom._session.mount("http://", adapter)
    prom._session.mount("https://", adapter)
    return prom


def kubernetes_client(settings: Settings) -> Any:
    """An ApiClient for `kubernetes_url` (no credentials), the kubeconfig, in-cluster config, or None."""
    from kubernetes import client, config

    if settings.kubernetes_url:
        configuration = client.Configuration()
        configuration.host = settings.kubernetes_url
        configuration.retries = 1
        configuration.connection_pool_maxsize = POOL_SIZE
        return client.ApiClient(configuration)
    try:
        if settings.kubeconfig:
            return config.new_client_from_config(config_file=settings.kubeconfig)
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            return config.new_client_from_config()
    except Exception as exc:  # no cluster configured: Kubernetes tools will say so
        log.info("Kubernetes is not configured (%s); Kubernetes tools will report errors", exc)
        return None


def cloudwatch_logs_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=settings.tool_timeout_s, read_timeout=settings.tool_timeout_s,
                    retries={"max_attempts": 2, "mode": "standard"})
    kwargs: dict[str, Any] = {"region_name": settings.aws_region, "config": config}
    if settings.aws_endpoint_url:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
    return boto3.client("logs", **kwargs)


def build_clients(settings: Settings) -> Clients:
    """Every client the evidence tools use, built from the settings (nothing connects until a tool calls).

    With a Kubernetes client, the official client's validators are built in a background thread, so that the
    first incident does not pay 2-3 s for it (tools.kubernetes.warm_up).
    """
    clients = Clients(
        prometheus=prometheus_client(settings),
        kubernetes=kubernetes_client(settings),
        cloudwatch_logs=cloudwatch_logs_client(settings) if settings.cloudwatch_log_groups else None,
        http=httpx.Client(timeout=settings.tool_timeout_s, follow_redirects=True),
    )
    if clients.kubernetes is not None:
        from tools.kubernetes import warm_up

        threading.Thread(target=warm_up, name="kubernetes-warm-up", daemon=True).start()
    return clients
