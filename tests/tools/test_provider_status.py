"""Provider status pages against a real local HTTP server speaking Statuspage v2."""

from __future__ import annotations

import time

import httpx
import pytest

from agent.replay.statuspage import StatuspageServer
from tests.tools import scenario
from tools.provider_status import provider_status

INSTANT = scenario.INSTANT


@pytest.fixture
def http():
    with httpx.Client() as client:
        yield client


def test_an_outage_shows_its_indicator_open_incidents_and_degraded_components(http, statuspage) -> None:
    found = provider_status(http, "openai", statuspage.base_url("openai"), INSTANT)
    assert found.status == "ok"
    assert found.data["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [i["name"] for i in found.data["incidents"]] == ["Elevated error rates on the API"]  # not the resolved
    assert found.data["degraded_components"] == [{"name": "API", "status": "partial_outage"}]
    assert found.query == f"GET {statuspage.url}/openai/api/v2/summary.json"


def test_an_operational_page_says_none(http, statuspage) -> None:
    found = provider_status(http, "anthropic", statuspage.base_url("anthropic"), INSTANT)
    assert (found.status, found.data["status"]["indicator"], found.data["incidents"]) == ("ok", "none", [])


def test_a_server_error_is_an_error_never_healthy(http, statuspage: StatuspageServer) -> None:
    statuspage.set_mode("anthropic", "500")
    found = provider_status(http, "anthropic", statuspage.base_url("anthropic"), INSTANT)
    assert (found.status, found.data) == ("error", None)
    assert "HTTP 500" in found.error


def test_a_hanging_page_is_cut_off_at_the_timeout(http, statuspage: StatuspageServer) -> None:
    statuspage.set_mode("openai", "hang")
    started = time.monotonic()
    found = provider_status(http, "openai", statuspage.base_url("openai"), INSTANT, timeout_s=0.3)
    assert found.status == "error"
    assert "timed out" in found.error
    assert time.monotonic() - started < 1.5


def test_malformed_json_is_an_error(http, statuspage: StatuspageServer) -> None:
    statuspage.set_mode("openai", "malformed")
    found = provider_status(http, "openai", statuspage.base_url("openai"), INSTANT)
    assert found.status == "error"
    assert "not a Statuspage v2 summary" in found.error


def test_json_without_a_status_indicator_is_an_error(http, canned_server) -> None:
    canned_server.body = b'{"page": {"id": "x"}, "incidents": []}'
    assert provider_status(http, "x", canned_server.url, INSTANT).status == "error"


def test_an_unreachable_page_is_an_error(http, closed_port_url: str) -> None:
    found = provider_status(http, "mistral", closed_port_url, INSTANT, timeout_s=1)
    assert found.status == "error"
    assert "unreachable" in found.error


def test_no_http_client_is_an_error() -> None:
    assert provider_status(None, "openai", "http://127.0.0.1:9", INSTANT).status == "error"
