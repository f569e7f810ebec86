"""Intake under attack: bodies shaped to crash the server or the worker, slow clients, floods of refused
requests, and a store that is gone. Each test is an attack that once succeeded."""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agent.audit import AuditLog
from agent.cli.serve import uvicorn_options
from agent.server import MAX_TALLIES, Refusals, create_app
from agent.settings import Settings, load_settings
from agent.store.sqlite import SqliteStore
from agent.webhook import MAX_ALERTS, MAX_DEPTH, MAX_LABELS, MAX_STRING
from tests.spine.conftest import ServerThread, sample_payload


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def with_alert(**changes: Any) -> dict[str, Any]:
    body = sample_payload()
    body["alerts"][0].update(changes)
    return body


def with_label(key: str, value: str) -> dict[str, Any]:
    body = sample_payload()
    body["alerts"][0]["labels"][key] = value
    return body


def too_many_alerts() -> dict[str, Any]:
    body = sample_payload()
    body["alerts"] = [{**body["alerts"][0], "fingerprint": f"{i:016x}"} for i in range(MAX_ALERTS + 1)]
    return body


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode()  # ensure_ascii: a lone surrogate goes over the wire as the escape \ud800


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested deeper"),
        (encoded(sample_payload(extra=nested(MAX_DEPTH + 1))), "extra.0.0.0.0.0.0.0.…: nested deeper"),
        (encoded(with_label("pod", "\ud800")), "surrogate"),
        (encoded(with_label("\udfff", "x")), "surrogate"),
        (encoded(sample_payload(truncatedAlerts=2**63)), "64-bit"),
        (encoded(sample_payload(truncatedAlerts=-(2**63) - 1)), "64-bit"),
        (b'{"version": "4", "truncatedAlerts": 1' + b"0" * 5000 + b"}", "64-bit"),
        (encoded(sample_payload(commonAnnotations={"summary": "x" * (MAX_STRING + 1)})), "longer than"),
        (encoded(too_many_alerts()), "alerts"),
        (encoded(with_alert(labels={"alertname": "A", **{f"l{i}": "v" for i in range(MAX_LABELS)}})), "labels"),
    ],
    ids=["deep-arrays", "deep-objects", "deep-extra", "surrogate-value", "surrogate-key", "truncated-2**63",
         "below-int64", "5000-digits", "long-string", "too-many-alerts", "too-many-labels"],
)
def test_a_hostile_body_is_a_400_naming_the_problem(
    client: httpx.Client, store: SqliteStore, body: bytes, needle: str
) -> None:
    response = client.post("/alertmanager", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert needle in response.json()["error"]
    assert store.list_incidents() == []


def test_the_limits_leave_room_for_real_bodies(client: httpx.Client) -> None:
    body = sample_payload(truncatedAlerts=2**63 - 1, extra=nested(MAX_DEPTH - 1))
    body["alerts"][0]["labels"]["pod"] = "\U0001f600 " + "x" * (MAX_STRING - 2)  # a real astral character
    assert client.post("/alertmanager", json=body).status_code == 200


def test_hostile_bodies_are_refused_on_every_endpoint(tmp_path, store: SqliteStore, audit: AuditLog) -> None:
    from agent.credentials import token_hash

    settings = load_settings(env={}, data_dir=tmp_path / "data", api_tokens={token_hash("carol"): "U-CAROL"})
    deep = b"[" * 100_000 + b"]" * 100_000
    with ServerThread(create_app(settings, store, audit)) as server, \
            httpx.Client(base_url=server.url, headers={"Authorization": "Bearer carol"}, timeout=10) as client:
        for path in ("/changes", "/incidents/inc-x/approve", "/incidents/inc-x/reject"):
            response = client.post(path, content=deep)
            assert response.status_code == 400, (path, response.text)
            assert "nested deeper" in response.json()["error"]


# -- times the worker cannot do arithmetic on ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "needle"),
    [
        (with_alert(startsAt="0001-06-01T00:00:00Z"), {}, "alerts.0.startsAt"),
        (with_alert(startsAt="9999-12-31T23:59:59Z"), {}, "alerts.0.startsAt"),
        (with_alert(startsAt="0001-01-01T00:00:00+01:00"), {}, "alerts.0.startsAt"),
        (with_alert(status="resolved", endsAt="9999-12-31T23:59:59Z"), {}, "alerts.0.endsAt"),
        (sample_payload(), {"X-Opsmedic-Instant": "0001-01-01T00:00:00Z"}, "x-opsmedic-instant"),
        (sample_payload(), {"X-Opsmedic-Instant": "9999-12-31T23:59:59Z"}, "x-opsmedic-instant"),
    ],
    ids=["starts-year-1", "starts-year-9999", "starts-year-1-offset", "ends-9999", "instant-year-1",
         "instant-year-9999"],
)
def test_times_outside_the_window_are_a_400(
    client: httpx.Client, store: SqliteStore, body: dict[str, Any], headers: dict[str, str], needle: str
) -> None:
    response = client.post("/alertmanager", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert needle in response.json()["error"]
    assert store.list_incidents() == []


def test_the_window_is_relative_to_the_server_clock_and_configurable(
    tmp_path, store: SqliteStore, audit: AuditLog
) -> None:
    now = datetime.now(UTC)
    late = (now + timedelta(hours=2)).isoformat()
    old = (now - timedelta(days=30)).isoformat()
    strict = load_settings(env={}, data_dir=tmp_path, max_past_days=7, max_ahead_s=3600)
    with ServerThread(create_app(strict, store, audit)) as server:
        assert httpx.post(f"{server.url}/alertmanager", json=with_alert(startsAt=old)).status_code == 400
        assert httpx.post(f"{server.url}/alertmanager", json=sample_payload(),
                          headers={"X-Opsmedic-Instant": late}).status_code == 400
    with ServerThread(create_app(load_settings(env={}, data_dir=tmp_path), store, audit)) as server:
        assert httpx.post(f"{server.url}/alertmanager", json=with_alert(startsAt=old),
                          headers={"X-Opsmedic-Instant": late}).status_code == 200


def test_an_unended_alert_is_still_accepted(client: httpx.Client, store: SqliteStore) -> None:
    response = client.post("/alertmanager", json=with_alert(endsAt="0001-01-01T00:00:00Z"))
    assert response.status_code == 200
    [incident] = store.list_incidents()
    assert incident.alerts[0].ends_at is None


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_change_outside_the_window_is_a_400(client: httpx.Client, store: SqliteStore, at: str) -> None:
    fine = {"at": datetime.now(UTC).isoformat(), "kind": "deploy"}
    response = client.post("/changes", json=[fine, {"at": at, "kind": "deploy"}])
    assert response.status_code == 400
    assert "1.at" in response.json()["error"]
    assert store.changes_between(datetime(2000, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)) == []


def test_a_naive_time_is_taken_as_utc(client: httpx.Client, store: SqliteStore) -> None:
    naive = (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    response = client.post("/alertmanager", json=with_alert(startsAt=naive))
    assert response.status_code == 200, response.text
    assert store.list_incidents()[0].alerts[0].starts_at.tzinfo is not None


# -- slow clients -----------------------------------------------------------------------------------------


def test_slow_clients_cannot_starve_a_real_delivery(tmp_path, store: SqliteStore, audit: AuditLog) -> None:
    """200 clients send their headers and a few bytes of a body they never finish, against a cap of 50
    connections: the cap answers the excess 503 at once, the body timeout answers the rest 408 and closes,
    and a delivery sent while they all still hang lands."""
    settings = load_settings(env={}, data_dir=tmp_path, max_connections=50, body_timeout_s=1,
                             keep_alive_timeout_s=1)
    with ServerThread(create_app(settings, store, audit), **uvicorn_options(settings)) as server:
        slow = []
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 10000\r\n\r\n{\"version\"")
            slow.append(sock)
        started = time.monotonic()
        status = 0
        while status != 200 and time.monotonic() - started < 10:  # Alertmanager retries a 503 likewise
            status = httpx.post(f"{server.url}/alertmanager", json=sample_payload(), timeout=5).status_code
            time.sleep(0.1)
        waited = time.monotonic() - started
        answers = [sock.recv(64).split(b" ")[1] for sock in slow]
        for sock in slow:
            sock.close()
    assert status == 200
    assert waited < 5
    assert set(answers) <= {b"408", b"503"}
    assert b"408" in answers


# -- refusals ---------------------------------------------------------------------------------------------


def test_a_flood_of_refusals_is_audited_as_a_few_counted_records(
    tmp_path, store: SqliteStore, audit: AuditLog
) -> None:
    start = datetime.now(UTC)
    ticks = itertools.count()
    settings = load_settings(env={}, data_dir=tmp_path, webhook_token="s3cret-token")
    app = create_app(settings, store, audit, clock=lambda: start + timedelta(seconds=next(ticks)))
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        codes = {http.post("/alertmanager", json=sample_payload()).status_code for _ in range(400)}
        codes |= {http.post("/changes", json={}).status_code for _ in range(100)}
    assert codes == {401}
    records = [r.data for r in audit.records() if r.data.get("outcome") == "rejected"]
    assert sum(r["count"] for r in records) == 500
    assert len(records) <= 12
    assert {(r["endpoint"], r["status"]) for r in records} == {("alertmanager", 401), ("changes", 401)}


def test_many_peers_cannot_grow_the_refusal_table_without_bound() -> None:
    refusals = Refusals(lambda: datetime(2026, 12, 1, tzinfo=UTC))
    peers = [f"10.0.{i // 256}.{i % 256}" for i in range(MAX_TALLIES)]
    written = [r for peer in peers for r in refusals.count(peer, "alertmanager", 401, "no token")]
    assert len(written) == MAX_TALLIES  # each peer's first refusal is written at once
    written += [r for peer in peers for r in refusals.count(peer, "alertmanager", 401, "no token")]
    assert len(written) == MAX_TALLIES  # the second, within the minute, only counted
    written += refusals.count("10.9.9.9", "alertmanager", 401, "no token")  # one key too many: all is written
    assert len(written) == 2 * MAX_TALLIES + 1
    assert sum(data["count"] for _, data in written) == 2 * MAX_TALLIES + 1
    assert refusals.drain() == []


# -- readiness --------------------------------------------------------------------------------------------


def test_readyz_is_503_when_the_store_file_is_deleted(client: httpx.Client, settings: Settings) -> None:
    assert client.get("/readyz").status_code == 200
    os.remove(settings.sqlite_path)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "deleted" in response.json()["error"]


def test_readyz_is_503_when_the_store_file_is_corrupt(client: httpx.Client, settings: Settings) -> None:
    settings.sqlite_path.write_bytes(b"garbage" * 1000)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "not an SQLite database" in response.json()["error"]


def test_readyz_is_503_when_the_store_is_full(client: httpx.Client, store: SqliteStore) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: not one more page
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "full" in response.json()["error"]


def test_readyz_is_503_when_the_store_is_read_only(client: httpx.Client, store: SqliteStore) -> None:
    store._db.execute("PRAGMA query_only = ON")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "readonly" in response.json()["error"]


def test_readyz_leaves_nothing_behind(client: httpx.Client, store: SqliteStore) -> None:
    before = store._db.execute("SELECT key, value FROM controls").fetchall()
    assert client.get("/readyz").status_code == 200
    assert store._db.execute("SELECT key, value FROM controls").fetchall() == before
