"""The real backends of the tool tests, loaded with tests/tools/scenario.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from agent.replay.kube import KubeEmulator
from agent.replay.moto import MotoServer
from agent.replay.prometheus import PrometheusServer
from agent.replay.statuspage import StatuspageServer
from tests.tools import scenario
from tools.catalog import Catalog, load_catalog


def connect(url: str, timeout_s: float = 5.0) -> PrometheusConnect:
    """A PrometheusConnect as agent/clients.py builds it: a timeout, no slow retries."""
    return PrometheusConnect(url=url, retry=Retry(total=0), timeout=timeout_s)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with PrometheusServer(scenario.samples(filler=200), workdir) as server:
        yield server


@pytest.fixture
def prom(prometheus_server: PrometheusServer) -> PrometheusConnect:
    return connect(prometheus_server.url)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator(scenario.kube_objects(), logs=scenario.pod_logs()) as emulator:
        yield emulator


@pytest.fixture
def kube_api(kube: KubeEmulator) -> Any:
    return kube.api_client()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def statuspage() -> Iterator[StatuspageServer]:
    pages = {
        "openai": {"status": {"indicator": "major", "description": "Partial System Outage"},
                   "incidents": [{"name": "Elevated error rates on the API", "status": "investigating",
                                  "impact": "major", "created_at": scenario.at(25).isoformat()},
                                 {"name": "Old incident", "status": "resolved", "impact": "minor"}],
                   "components": [{"name": "API", "status": "partial_outage"},
                                  {"name": "ChatGPT", "status": "operational"}]},
        "anthropic": {},
    }
    with StatuspageServer(pages) as server:
        yield server
