"""Error signatures, pod logs through kmock, CloudWatch Logs through moto's server."""

from __future__ import annotations

import time
from datetime import timedelta

import boto3
import kmock
import pytest
from botocore.config import Config

from agent.errors import ConfigError
from agent.replay.kube import KubeEmulator, LogLines
from agent.replay.moto import CREDENTIALS, MotoServer
from tests.conftest import CannedServer, HangingServer
from tests.tools import scenario
from tools import cloudwatch, logs
from tools.signatures import group, signature_of

INSTANT = scenario.INSTANT
API = {"service": "api", "namespace": "prod"}


def test_lines_differing_only_in_numbers_and_ids_share_a_signature() -> None:
    a = signature_of("ERROR request 3f2a1b9c-1111-2222-3333-444455556666 from 10.0.0.7:443 failed after 1500ms")
    b = signature_of("ERROR request 0a0b0c0d-9999-8888-7777-666655554444 from 10.0.3.9:80 failed after 20ms")
    assert a == b == "ERROR request <uuid> from <ip> failed after <n>ms"
    assert signature_of("pod api-7f9c-abcde OOMKilled") == signature_of("pod api-6b8d-zzzzz OOMKilled")
    assert signature_of("ERROR parse failed for request r00017x") == "ERROR parse failed for request <id>"
    assert signature_of("ERROR model gpt-4 not found") != signature_of("ERROR rate limit reached")


def test_thousands_of_lines_become_a_few_signatures_with_counts_and_times() -> None:
    start = INSTANT - timedelta(minutes=30)
    lines = [(start + timedelta(seconds=i), f"ERROR upstream 503 for request req-{i:06d}x", "p") for i in range(3000)]
    lines += [(start + timedelta(seconds=i), f"INFO served {i}", "p") for i in range(2000)]
    lines += [(INSTANT, '{"level": "warning", "msg": "retrying call 7 of 10"}', "q")]
    grouping = group(lines)
    signatures, truncated = grouping.top()
    assert (grouping.lines_read, grouping.lines_matched, truncated) == (5001, 3001, 0)
    assert [(s["count"], s["level"]) for s in signatures] == [(3000, "error"), (1, "warning")]
    assert signatures[0]["first_seen"] == start.isoformat()
    assert signatures[0]["last_seen"] == (start + timedelta(seconds=2999)).isoformat()
    assert "503" in signatures[0]["example"]
    assert signatures[1]["signature"] == "WARNING retrying call <n> of <n>"


def test_only_the_largest_signatures_are_kept() -> None:
    lines = [(None, f"ERROR kind{chr(97 + i % 26)}{chr(97 + i // 26)} broke", "") for i in range(40)]
    signatures, truncated = group(lines).top(limit=15)
    assert (len(signatures), truncated) == (15, 25)


def test_pod_logs_group_the_window_of_the_alerts_pods(kube_api) -> None:
    found = logs.pod_logs(kube_api, "prod", API, INSTANT)
    signatures = {s["signature"]: s for s in found.data["signatures"]}
    assert found.status == "ok"
    oom = signatures["Traceback: torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate <n> MiB"]
    assert oom["count"] == 500
    assert oom["sources"] == ["prod/api-7f9c-abcde/app"]
    assert signatures["ERROR openai call <id> failed: <n> Too Many Requests (retry in <n>s)"]["count"] == 500
    assert signatures["ERROR worker killed: OOMKilled"]["count"] == 1  # from the previous container
    texts = " ".join(signatures)
    assert "stale" not in texts and "after the instant" not in texts
    assert found.data["lines_read"] == 1500 + 1 + 2  # the window's lines: current, other pod, previous


def test_pod_logs_without_error_lines_are_no_data() -> None:
    objects = [o for o in scenario.kube_objects() if o["metadata"]["name"] != "api-7f9c-abcde"]
    with KubeEmulator(objects, logs=[LogLines("prod", "api-7f9c-fghij", "app", [(INSTANT, "INFO fine")])]) as kube:
        found = logs.pod_logs(kube.api_client(), "prod", API, INSTANT)
    assert found.status == "no_data"
    assert found.data["lines_read"] == 1


def test_pod_logs_that_fail_everywhere_are_an_error(kube: KubeEmulator, kube_api) -> None:
    kube.fail(kmock.subresource("log"), 500, "kubelet unreachable")
    found = logs.pod_logs(kube_api, "prod", API, INSTANT)
    assert found.status == "error"
    assert "500" in found.error


def test_pod_logs_with_a_malformed_pod_list_are_an_error(kube: KubeEmulator, kube_api) -> None:
    kube.react(kmock.resource("", "v1", "pods"), {"items": "nope"})
    assert logs.pod_logs(kube_api, "prod", API, INSTANT).status == "error"


def test_pod_logs_from_a_hanging_api_server_are_cut_off(hanging_server: HangingServer) -> None:
    from kubernetes import client as k8s

    configuration = k8s.Configuration()
    configuration.host, configuration.retries = hanging_server.url, 0
    started = time.monotonic()
    found = logs.pod_logs(k8s.ApiClient(configuration), "prod", API, INSTANT, timeout_s=0.5)
    assert found.status == "error"
    assert time.monotonic() - started < 2


# CloudWatch Logs, through moto's server


@pytest.fixture(scope="module")
def log_group(moto: MotoServer) -> str:
    group = "/aws/lambda/summarizer"
    events = [(INSTANT - timedelta(seconds=i), f"ERROR bedrock ThrottlingException for request r-{i:05d}a")
              for i in range(1, 1201)]
    events += [(INSTANT - timedelta(seconds=i), f"INFO ok {i}") for i in range(1, 301)]
    events += [(INSTANT - timedelta(hours=2), "ERROR too old to matter")]
    moto.put_log_events(group, "2026/11/23/[$LATEST]abc", events)
    moto.put_log_events("/aws/quiet", "s", [(INSTANT - timedelta(minutes=1), "INFO nothing to see")])
    return group


def test_cloudwatch_groups_the_windows_error_events(moto: MotoServer, log_group: str) -> None:
    found = cloudwatch.cloudwatch_logs(moto.client("logs"), [log_group], INSTANT)
    assert found.status == "ok"
    [signature] = found.data["signatures"]
    assert signature["signature"] == "ERROR bedrock ThrottlingException for request <id>"
    assert signature["count"] == 1200
    assert signature["sources"] == [f"{log_group}/2026/11/23/[$LATEST]abc"]


def test_cloudwatch_without_errors_is_no_data(moto: MotoServer, log_group: str) -> None:
    assert cloudwatch.cloudwatch_logs(moto.client("logs"), ["/aws/quiet"], INSTANT).status == "no_data"


def test_cloudwatch_missing_group_is_an_error(moto: MotoServer) -> None:
    found = cloudwatch.cloudwatch_logs(moto.client("logs"), ["/aws/nowhere"], INSTANT)
    assert found.status == "error"
    assert "ResourceNotFoundException" in found.error


def test_cloudwatch_one_bad_group_does_not_hide_the_others(moto: MotoServer, log_group: str) -> None:
    found = cloudwatch.cloudwatch_logs(moto.client("logs"), ["/aws/nowhere", log_group], INSTANT)
    assert found.status == "ok"
    assert list(found.data["errors"]) == ["/aws/nowhere"]


def _client(url: str, timeout_s: float = 0.5):
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    return boto3.client("logs", region_name="us-east-1", endpoint_url=url, config=config, **CREDENTIALS)


def test_cloudwatch_server_error_is_an_error(canned_server: CannedServer) -> None:
    canned_server.status, canned_server.body = 500, b'{"__type": "ServiceUnavailableException"}'
    assert cloudwatch.cloudwatch_logs(_client(canned_server.url), ["/g"], INSTANT).status == "error"


def test_cloudwatch_malformed_answer_is_an_error(canned_server: CannedServer) -> None:
    canned_server.body = b'{"events": "not a list"}'
    found = cloudwatch.cloudwatch_logs(_client(canned_server.url), ["/g"], INSTANT)
    assert found.status == "error"


def test_cloudwatch_hanging_endpoint_is_cut_off(hanging_server: HangingServer) -> None:
    started = time.monotonic()
    found = cloudwatch.cloudwatch_logs(_client(hanging_server.url), ["/g"], INSTANT, timeout_s=0.5)
    assert found.status == "error"
    assert time.monotonic() - started < 3


def test_cloudwatch_not_configured_is_an_error() -> None:
    assert cloudwatch.cloudwatch_logs(None, ["/g"], INSTANT).status == "error"


def test_events_older_than_14_days_are_refused_with_a_clear_message(moto: MotoServer) -> None:
    with pytest.raises(ConfigError, match="older than 14 days"):
        moto.put_log_events("/aws/old", "s", [(INSTANT - timedelta(days=15), "ERROR x")])
