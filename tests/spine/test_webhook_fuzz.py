"""Property: no body, however odd or hostile, gets a 5xx (or a traceback) from /alertmanager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.webhook import MAX_DEPTH, MAX_STRING
from tests.spine.conftest import sample_payload

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["version", "groupKey", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations",
          "externalURL", "truncatedAlerts", "alerts"]
ALERT_FIELDS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]
DEEP = "@deep@"  # stands for a nesting too deep for json.dumps itself; put in as bytes


@st.composite
def mutated_payloads(draw: st.DrawFn) -> bytes:
    """A valid notification with some fields dropped or replaced by arbitrary JSON."""
    body: dict[str, Any] = sample_payload()
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.booleans()):
            body.pop(field, None)
        else:
            body[field] = draw(json_values)
    alerts = body.get("alerts")
    if isinstance(alerts, list) and alerts and isinstance(alerts[0], dict):
        for field in draw(st.lists(st.sampled_from(ALERT_FIELDS), max_size=3)):
            alerts[0][field] = draw(json_values | st.sampled_from(["firing", "resolved", "0001-01-01T00:00:00Z"]))
    return json.dumps(body).encode()


times = st.builds(
    lambda at, zone: at.replace(tzinfo=zone).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)) | st.just(datetime.now()),
    st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), None]),
)
hostile_values = (
    st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1) | st.integers(-2, 2**63)
    | st.lists(st.integers(0xD800, 0xDFFF).map(chr) | st.characters(), min_size=1, max_size=6).map("".join)
    | st.integers(MAX_STRING - 1, MAX_STRING + 1).map(lambda n: "x" * n)
    | times
    | st.just(DEEP)
)


@st.composite
def hostile_payloads(draw: st.DrawFn) -> bytes:
    """A valid notification with one hostile value — huge or out-of-range integer, lone surrogate, long string,
    extreme time, deep nesting — as a field, an alert's field, or a label's key or value."""
    body: dict[str, Any] = sample_payload()
    alert, value = body["alerts"][0], draw(hostile_values)
    place = draw(st.sampled_from(["field", "alert", "label", "key"]))
    if place == "field":
        body[draw(st.sampled_from([*FIELDS, "extra"]))] = value
    elif place == "alert":
        alert[draw(st.sampled_from(ALERT_FIELDS))] = value
    elif place == "label":
        alert["labels"]["pod"] = value
    else:
        alert["labels"][str(value)] = "x"
    depth = draw(st.integers(MAX_DEPTH - 2, 20_000))
    return json.dumps(body).encode().replace(json.dumps(DEEP).encode(), b"[" * depth + b"]" * depth)


deep_bodies = st.integers(1, 100_000).flatmap(
    lambda n: st.sampled_from([b"[" * n + b"]" * n, b'{"a":' * n + b"{}" + b"}" * n, b"[" * n])
)
bodies = (mutated_payloads() | hostile_payloads() | deep_bodies | json_values.map(lambda v: json.dumps(v).encode())
          | st.binary(max_size=200))


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, instant=st.none() | times)
def test_no_body_ever_gets_a_5xx(client: httpx.Client, body: bytes, instant: str | None) -> None:
    headers = {"content-type": "application/json", **({"x-opsmedic-instant": instant} if instant else {})}
    response = client.post("/alertmanager", content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    assert "Traceback" not in response.text
    if response.status_code == 400:
        assert response.json()["error"]
