"""The Alertmanager webhook's contract, over real HTTP: what Alertmanager and an operator would see."""

from __future__ import annotations

import copy
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from agent.audit import AuditLog
from agent.server import create_app
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from tests.spine.conftest import ServerThread, resolved, sample_payload


def rejections(audit: AuditLog) -> list[dict]:
    return [r.data for r in audit.records() if r.kind == "alert" and r.data.get("outcome") == "rejected"]


def test_firing_notification_opens_an_incident_and_queues_it(client: httpx.Client, store: SqliteStore) -> None:
    response = client.post("/alertmanager", json=sample_payload())
    assert response.status_code == 200
    incident = store.get_incident(response.json()["incident_id"])
    assert incident.status == "open"
    assert [a.name for a in incident.firing] == ["LLMOutputValidationFailures"]
    assert incident.labels["service"] == "summarizer"
    assert store.queue_depth() == 1


def test_resolved_notification_marks_the_alerts_resolved(client: httpx.Client, store: SqliteStore) -> None:
    first = client.post("/alertmanager", json=sample_payload()).json()
    second = client.post("/alertmanager", json=resolved(sample_payload())).json()
    assert second["incident_id"] == first["incident_id"]
    incident = store.get_incident(first["incident_id"])
    assert incident.firing == []
    assert incident.status == "resolved"


def test_truncated_alerts_are_kept_on_the_incident(client: httpx.Client, store: SqliteStore) -> None:
    body = client.post("/alertmanager", json=sample_payload(truncatedAlerts=17)).json()
    assert store.get_incident(body["incident_id"]).truncated_alerts == 17


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps(sample_payload(version="3")).encode(), "version"),
        (json.dumps({k: v for k, v in sample_payload().items() if k != "groupKey"}).encode(), "groupKey"),
        (json.dumps(sample_payload(alerts=[])).encode(), "alerts"),
        (json.dumps(sample_payload(status="burning")).encode(), "status"),
    ],
    ids=["bad-json", "not-an-object", "wrong-version", "missing-groupKey", "no-alerts", "bad-status"],
)
def test_bad_input_is_a_400_naming_the_problem_and_is_audited(
    client: httpx.Client, audit: AuditLog, store: SqliteStore, body: bytes, needle: str
) -> None:
    response = client.post("/alertmanager", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert needle in response.json()["error"]
    assert [r["status"] for r in rejections(audit)] == [400]
    assert store.list_incidents() == []


def test_an_alert_without_alertname_is_refused(client: httpx.Client) -> None:
    body = sample_payload()
    del body["alerts"][0]["labels"]["alertname"]
    response = client.post("/alertmanager", json=body)
    assert response.status_code == 400
    assert "alertname" in response.json()["error"]


def test_a_body_over_the_limit_is_a_413(tmp_path, store: SqliteStore, audit: AuditLog) -> None:
    settings = load_settings(env={}, data_dir=tmp_path, max_body_bytes=2048)
    with ServerThread(create_app(settings, store, audit)) as server:
        body = sample_payload(commonAnnotations={"summary": "x" * 4096})
        response = httpx.post(f"{server.url}/alertmanager", json=body)
    assert response.status_code == 413
    assert [r["status"] for r in rejections(audit)] == [413]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic c2VjcmV0"])
def test_a_missing_or_wrong_token_is_a_401(tmp_path, store: SqliteStore, audit: AuditLog, header) -> None:
    settings = load_settings(env={}, data_dir=tmp_path, webhook_token="s3cret-token")
    headers = {"authorization": header} if header else {}
    with ServerThread(create_app(settings, store, audit)) as server:
        refused = httpx.post(f"{server.url}/alertmanager", json=sample_payload(), headers=headers)
        accepted = httpx.post(f"{server.url}/alertmanager", json=sample_payload(),
                              headers={"authorization": "Bearer s3cret-token"})
    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert [r["status"] for r in rejections(audit)] == [401]


def test_repeated_deliveries_update_one_incident(client: httpx.Client, store: SqliteStore) -> None:
    answers = [client.post("/alertmanager", json=sample_payload()).json() for _ in range(3)]
    assert {a["incident_id"] for a in answers} == {answers[0]["incident_id"]}
    assert [a["effect"] for a in answers] == ["created", "duplicate", "duplicate"]
    [incident] = store.list_incidents()
    assert incident.deliveries == 3
    assert store.queue_depth() == 1


def test_twenty_concurrent_deliveries_give_one_incident(client: httpx.Client, store: SqliteStore) -> None:
    body = sample_payload()
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: client.post("/alertmanager", json=body).status_code, range(20)))
    assert codes == [200] * 20
    [incident] = store.list_incidents()
    assert incident.deliveries == 20
    assert store.queue_depth() == 1


def test_a_new_alert_in_the_group_joins_the_same_incident(client: httpx.Client, store: SqliteStore) -> None:
    client.post("/alertmanager", json=sample_payload())
    body = sample_payload()
    second = copy.deepcopy(body["alerts"][0])
    second["fingerprint"] = "aaaabbbbccccdddd"
    second["labels"]["pod"] = "summarizer-2"
    body["alerts"].append(second)
    answer = client.post("/alertmanager", json=body).json()
    assert answer["effect"] == "updated"
    [incident] = store.list_incidents()
    assert len(incident.firing) == 2


def test_store_unwritable_is_a_503_then_the_retry_lands_exactly_once(
    client: httpx.Client, settings: Settings, store: SqliteStore
) -> None:
    blocker = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database: our writes cannot land
    try:
        response = client.post("/alertmanager", json=sample_payload())
        assert response.status_code == 503
        assert response.headers["retry-after"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    retry = client.post("/alertmanager", json=sample_payload())
    assert retry.status_code == 200
    assert retry.json()["effect"] == "created"
    assert len(store.list_incidents()) == 1


def test_readyz_reports_an_unwritable_store(client: httpx.Client, settings: Settings) -> None:
    assert client.get("/readyz").status_code == 200
    blocker = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert client.get("/readyz").status_code == 503
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert client.get("/healthz").json() == {"status": "ok"}


def test_change_events_are_stored(client: httpx.Client, store: SqliteStore) -> None:
    change = {"at": "2026-11-23T09:10:00Z", "kind": "prompt", "service": "summarizer", "namespace": "prod",
              "name": "summarize", "from": "v12", "to": "v13", "actor": "ci"}
    response = client.post("/changes", json=[change, {**change, "kind": "deploy", "from": 4, "to": 5}])
    assert response.status_code == 202
    from datetime import datetime

    found = store.changes_between(datetime.fromisoformat("2026-11-23T09:00:00+00:00"),
                                  datetime.fromisoformat("2026-11-23T10:00:00+00:00"), service="summarizer")
    assert [(c.kind, c.from_, c.to) for c in found] == [("prompt", "v12", "v13"), ("deploy", "4", "5")]


def test_a_malformed_change_is_a_400(client: httpx.Client) -> None:
    response = client.post("/changes", json={"kind": "prompt"})
    assert response.status_code == 400
    assert "at" in response.json()["error"]


def test_metrics_count_intake_and_queue(client: httpx.Client) -> None:
    client.post("/alertmanager", json=sample_payload())
    client.post("/alertmanager", content=b"nope")
    text = client.get("/metrics").text
    assert 'opsmedic_intake_requests_total{endpoint="alertmanager",outcome="200"}' in text
    assert 'opsmedic_intake_requests_total{endpoint="alertmanager",outcome="400"}' in text
    assert "opsmedic_queue_depth 1.0" in text
    assert "opsmedic_graph_runs_total" in text
