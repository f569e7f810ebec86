"""A chart of the key signal around the alert: rendered with matplotlib from a real Prometheus, uploaded to the
incident's thread with files_upload_v2."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_api_client import PrometheusConnect

from agent.replay.prometheus import PrometheusServer
from agent.slack import charts
from agent.slack.charts import Series
from tests.slack.conftest import CHANNEL, Harness, alert_body

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_flat_or_empty_signal_is_not_worth_a_picture() -> None:
    now = datetime.now(UTC)
    flat = [Series("x", [(now + timedelta(minutes=i), 1.0) for i in range(30)])]
    rising = [Series("x", [(now + timedelta(minutes=i), float(i)) for i in range(30)])]
    assert not charts.worth_drawing(flat) and not charts.worth_drawing([]) and charts.worth_drawing(rising)
    png = charts.render(rising, now + timedelta(minutes=20), "rate(x[5m])")
    assert png.startswith(PNG) and len(png) > 5_000


@pytest.mark.prometheus
async def test_the_key_signal_is_charted_into_the_incident_thread(harness: Harness, tmp_path: Path) -> None:
    now = time.time()
    series = [(now - 3600 + 60 * i, float(i * 10 if i < 40 else 400 + (i - 40) * 200)) for i in range(59)]
    samples = [("llm_output_validation_failures_total", {"service": "summarizer", "namespace": "prod"}, series)]
    with PrometheusServer(samples, tmp_path / "prom") as prom:
        harness.slack.notifier.prometheus = PrometheusConnect(prom.url, disable_ssl=True)
        response = await harness.http.post(f"{harness.url}/alertmanager", json=alert_body())
        incident_id = response.json()["incident_id"]
        await harness.run_worker()
        await harness.slack.notifier.sync(incident_id)
    thread = harness.slack.notifier.thread(incident_id)
    assert thread is not None and thread.chart
    [upload] = harness.slack_api.calls("upload")
    assert harness.slack_api.uploads()[upload.params["file_id"]].startswith(PNG)
    [complete] = harness.slack_api.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == CHANNEL and complete.params["thread_ts"] == thread.ts
    assert "llm_output_validation_failures_total" in json.dumps(complete.params["files"])
