"""Property: no body, however odd, gets a 5xx (or a traceback) from /alertmanager."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.spine.conftest import sample_payload

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["version", "groupKey", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations",
          "externalURL", "truncatedAlerts", "alerts"]
ALERT_FIELDS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]


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


bodies = mutated_payloads() | json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_no_body_ever_gets_a_5xx(client: httpx.Client, body: bytes) -> None:
    response = client.post("/alertmanager", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400), response.text
    assert "Traceback" not in response.text
    if response.status_code == 400:
        assert response.json()["error"]
