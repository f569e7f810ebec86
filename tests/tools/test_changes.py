"""The change timeline from the store, Kubernetes ReplicaSets and metric labels, against real backends."""

from __future__ import annotations

from collections.abc import Iterator

import kmock
import pytest

from agent.models import ChangeEvent
from agent.replay.kube import KubeEmulator
from agent.store.sqlite import SqliteStore
from tests.conftest import CannedServer
from tests.tools import scenario
from tests.tools.conftest import connect
from tools.changes import changes

INSTANT = scenario.INSTANT


@pytest.fixture
def store(tmp_path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "store.db")
    s.record_change(ChangeEvent.model_validate({"at": scenario.at(50), "kind": "config", "service": "summarizer",
                                                "namespace": "prod", "name": "temperature", "from": "0.2",
                                                "to": "0.7", "actor": "alice"}))
    s.record_change(ChangeEvent(at=scenario.at(600), kind="deploy", service="summarizer", namespace="prod",
                             to="too-old"))
    s.record_change(ChangeEvent(at=scenario.at(5), kind="deploy", service="billing", namespace="prod", to="9"))
    yield s
    s.close()


@pytest.mark.prometheus
def test_one_timeline_from_the_store_and_the_metric_labels(store, prom, catalog, kube_api) -> None:
    found = changes(store, prom, kube_api, catalog, "summarizer", "prod", {"service": "summarizer"}, INSTANT)
    timeline = [(c["source"], c["kind"], c["from"], c["to"]) for c in found.data["changes"]]
    assert timeline == [("api", "config", "0.2", "0.7"), ("metrics", "prompt", "v12", "v13")]
    assert found.data["changes"][1]["at"] == scenario.PROMPT_CHANGE.isoformat()
    assert found.data["errors"] == {}


@pytest.mark.prometheus
def test_a_rollout_shows_up_from_its_replicaset_revision(store, prom, catalog, kube_api) -> None:
    found = changes(store, prom, kube_api, catalog, "api", "prod", {"service": "api"}, INSTANT)
    [rollout] = [c for c in found.data["changes"] if c["source"] == "kubernetes"]
    assert rollout["kind"] == "rollout"
    assert (rollout["from"], rollout["to"]) == ("registry.local/api:1.0.0", "registry.local/api:1.1.0")
    assert rollout["at"] == scenario.ROLLOUT.isoformat()
    assert rollout["target"] == "prod/api"


def test_nothing_changed_is_no_data(store, catalog) -> None:
    found = changes(store, None, None, catalog, "quiet", "prod", {}, INSTANT)
    assert (found.status, found.data["changes"]) == ("no_data", [])


def test_a_failing_source_is_reported_and_does_not_hide_the_others(store, catalog, kube: KubeEmulator,
                                                                   kube_api, canned_server: CannedServer) -> None:
    kube.fail(kmock.resource("apps", "v1", "deployments"), 500)
    canned_server.body = b"garbage"
    found = changes(store, connect(canned_server.url), kube_api, catalog, "summarizer", "prod",
                    {"service": "summarizer"}, INSTANT)
    assert found.status == "ok"
    assert set(found.data["errors"]) == {"kubernetes", "metrics"}
    assert [c["source"] for c in found.data["changes"]] == ["api"]


def test_every_source_failing_is_an_error(tmp_path, catalog, canned_server: CannedServer) -> None:
    broken = SqliteStore(tmp_path / "s.db")
    broken.close()
    canned_server.status = 500
    found = changes(broken, connect(canned_server.url), object(), catalog, "summarizer", "prod",
                    {"service": "summarizer"}, INSTANT)
    assert found.status == "error"
    assert set(found.data["errors"]) == {"api", "kubernetes", "metrics"}
