"""moto's AWS server on localhost, for CloudWatch Logs.

    with MotoServer() as aws:
        aws.put_log_events("/aws/app", "pod-1", [(datetime.now(UTC), "ERROR boom")])
        logs = aws.client("logs")        # boto3 with endpoint_url=aws.url and dummy credentials

moto serves CloudWatch Logs over real HTTP (filter patterns included) and, like CloudWatch, rejects events
older than 14 days: `put_log_events` raises ConfigError for those rather than silently losing them.

moto keeps its state per process, not per server: two MotoServers in one process see the same log groups.
`reset()` empties it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import boto3
import httpx
from moto.server import ThreadedMotoServer

from agent.errors import ConfigError
from agent.replay.prometheus import free_port

REGION = "us-east-1"
MAX_AGE = timedelta(days=14)
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class MotoServer:
    """moto in server mode on a free 127.0.0.1 port; `.url` is boto3's `endpoint_url`."""

    def __init__(self, *, region: str = REGION) -> None:
        self.region = region
        self._server: ThreadedMotoServer | None = None
        self._url = ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("MotoServer is not started")
        return self._url

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("MotoServer is already started")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
        port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self._url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self._url}/moto-api/", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise ConfigError("moto's server did not start within 10 s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._url = ""

    def reset(self) -> None:
        """Forget every resource (moto's state is shared by every server of the process)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=5.0).raise_for_status()

    def client(self, service: str = "logs", **kwargs: Any) -> Any:
        """A boto3 client for `service` pointed at this server, with dummy credentials."""
        return boto3.client(service, region_name=self.region, endpoint_url=self.url, **CREDENTIALS, **kwargs)

    def put_log_events(self, group: str, stream: str, events: Iterable[tuple[datetime, str]], *,
                       now: datetime | None = None) -> int:
        """Create the group and stream if needed and put the events (time order); returns how many were put."""
        logs = self.client("logs")
        if not logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups"):
            logs.create_log_group(logGroupName=group)
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream).get("logStreams", [])
        if not any(s["logStreamName"] == stream for s in streams):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        oldest = (now or datetime.now(UTC)) - MAX_AGE
        batch = []
        for at, message in sorted(events, key=lambda e: e[0]):
            if at < oldest:
                raise ConfigError(f"log event at {at.isoformat()} is older than 14 days: CloudWatch rejects it; "
                                  "place the scenario's instant within the last 14 days")
            batch.append({"timestamp": int(at.timestamp() * 1000), "message": message})
        for start in range(0, len(batch), 10_000):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch[start:start + 10_000])
        return len(batch)
