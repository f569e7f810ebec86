"""Kubernetes tools with the official client against the kmock emulator serving the scenario's objects."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import kmock
import pytest
from kubernetes import client as k8s

from agent.replay.kube import KubeEmulator
from tests.conftest import HangingServer
from tests.tools import scenario
from tools import kubernetes

INSTANT = scenario.INSTANT
API = {"service": "api", "namespace": "prod"}
DEPLOYMENTS = kmock.resource("apps", "v1", "deployments")


def test_workload_is_found_from_the_service_label(kube_api) -> None:
    found = kubernetes.workload(kube_api, "prod", API, INSTANT)
    assert found.status == "ok"
    assert (found.data["kind"], found.data["name"], found.data["revision"]) == ("Deployment", "api", "2")
    assert found.data["replicas"] == {"desired": 2, "ready": 1, "available": 1, "updated": 2}
    assert found.data["images"] == ["registry.local/api:1.1.0"]
    assert found.query == "GET /apis/apps/v1/namespaces/prod/deployments/api"


def test_workload_is_found_from_a_pod_label_through_its_owners(kube_api) -> None:
    found = kubernetes.workload(kube_api, "prod", {"pod": "api-7f9c-abcde", "namespace": "prod"}, INSTANT)
    assert (found.status, found.data["name"]) == ("ok", "api")


def test_no_workload_for_unknown_labels_is_no_data(kube_api) -> None:
    assert kubernetes.workload(kube_api, "prod", {"service": "ghost"}, INSTANT).status == "no_data"
    assert kubernetes.pods(kube_api, "prod", {"service": "ghost"}, INSTANT).status == "no_data"


def test_pods_show_crash_loop_and_the_oom_kill(kube_api) -> None:
    found = kubernetes.pods(kube_api, "prod", API, INSTANT)
    pods = {p["name"]: p for p in found.data["pods"]}
    [app] = pods["api-7f9c-abcde"]["containers"]
    assert (app["state"], app["reason"], app["restarts"]) == ("waiting", "CrashLoopBackOff", 6)
    assert app["last_termination"]["reason"] == "OOMKilled"
    assert app["last_termination"]["exit_code"] == 137
    assert pods["api-7f9c-fghij"]["ready"] is True
    assert pods["api-7f9c-abcde"]["node"] == "n2"
    assert "1 not ready" in found.summary


def test_events_are_the_workloads_recent_ones_warnings_first(kube_api) -> None:
    found = kubernetes.events(kube_api, "prod", API, INSTANT)
    reasons = [(e["type"], e["reason"]) for e in found.data["events"]]
    assert reasons == [("Warning", "BackOff"), ("Normal", "ScalingReplicaSet")]  # not the old one, not web-1's


def test_rollouts_list_revisions_newest_first_with_images(kube_api) -> None:
    found = kubernetes.rollouts(kube_api, "prod", API, INSTANT)
    revisions = found.data["revisions"]
    assert [(r["revision"], r["images"]) for r in revisions] == [
        (2, ["registry.local/api:1.1.0"]), (1, ["registry.local/api:1.0.0"])]
    assert revisions[0]["created"] == scenario.ROLLOUT.isoformat()
    assert found.data["current_revision"] == 2


def test_nodes_show_memory_pressure_where_the_pods_run(kube_api) -> None:
    found = kubernetes.nodes(kube_api, "prod", API, INSTANT)
    nodes = {n["name"]: n for n in found.data["nodes"]}
    assert [p["type"] for p in nodes["n2"]["problems"]] == ["MemoryPressure"]
    assert nodes["n1"]["problems"] == []
    assert nodes["n2"]["pods"] == ["api-7f9c-abcde"]
    assert found.data["nodes"][0]["name"] == "n2"  # problems first


def test_a_node_alert_reads_the_node_it_names(kube_api) -> None:
    found = kubernetes.nodes(kube_api, "", {"node": "n2", "alertname": "KubeNodeMemoryPressure"}, INSTANT)
    assert [n["name"] for n in found.data["nodes"]] == ["n2"]
    assert found.data["nodes"][0]["problems"][0]["reason"] == "KubeletHasInsufficientMemory"


def test_the_tools_only_read(kube: KubeEmulator, kube_api) -> None:
    for tool in (kubernetes.workload, kubernetes.pods, kubernetes.events, kubernetes.rollouts, kubernetes.nodes):
        assert tool(kube_api, "prod", API, INSTANT).status == "ok"
    assert kube.requests()
    assert kube.writes() == []


def test_an_api_server_error_is_an_error(kube: KubeEmulator, kube_api) -> None:
    kube.fail(DEPLOYMENTS, 500, "etcd is down")
    found = kubernetes.workload(kube_api, "prod", API, INSTANT)
    assert found.status == "error"
    assert "500" in found.error


def test_a_malformed_answer_is_an_error(kube: KubeEmulator, kube_api) -> None:
    kube.react(kmock.resource("", "v1", "pods"), b"{not json")
    assert kubernetes.pods(kube_api, "prod", API, INSTANT).status == "error"


def test_a_hanging_api_server_is_cut_off_at_the_timeout(hanging_server: HangingServer) -> None:
    configuration = k8s.Configuration()
    configuration.host = hanging_server.url
    configuration.retries = 0
    started = time.monotonic()
    found = kubernetes.workload(k8s.ApiClient(configuration), "prod", API, INSTANT, timeout_s=0.5)
    assert found.status == "error"
    assert time.monotonic() - started < 2


def test_no_cluster_is_an_error_not_a_crash() -> None:
    for tool in (kubernetes.workload, kubernetes.pods, kubernetes.events, kubernetes.rollouts, kubernetes.nodes):
        found = tool(None, "prod", API, INSTANT)
        assert (found.status, found.error) == ("error", "Kubernetes is not configured")


@pytest.mark.parametrize("labels", [{"deployment": "api"}, {"app": "api"}, {"container": "api"}])
def test_other_labels_name_the_workload_too(kube_api, labels: dict[str, str]) -> None:
    assert kubernetes.workload(kube_api, "prod", labels, INSTANT).data["name"] == "api"


def test_after_warm_up_the_first_call_of_a_fresh_process_is_fast(kube: KubeEmulator) -> None:
    script = (
        "import sys, time\n"
        "from kubernetes import client as k8s\n"
        "from tools.kubernetes import warm_up\n"
        "warm_up()\n"
        "c = k8s.Configuration(); c.host = sys.argv[1]\n"
        "started = time.monotonic()\n"
        "k8s.CoreV1Api(k8s.ApiClient(c)).list_namespaced_pod('prod')\n"
        "print(time.monotonic() - started)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, kube.url], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2], check=True)
    assert float(done.stdout.strip()) < 0.5  # a cold client takes 1-2 s for the same call
