"""CloudWatch Logs: error lines of the configured log groups around the instant, as signatures (read-only)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools.logs import frame, outcome
from tools.result import result
from tools.signatures import Grouping

TOOL = "logs.cloudwatch"
DEFAULT_PATTERN = "?ERROR ?Error ?error ?Exception ?exception ?FATAL ?Traceback ?WARN ?warning ?429 ?503 ?timeout"
MAX_EVENTS = 20_000


def cloudwatch_logs(logs: Any, groups: Sequence[str], at: datetime, *, lookback_s: float = 1800.0,
                    filter_pattern: str = DEFAULT_PATTERN, timeout_s: float = 10.0) -> Evidence:
    """Error and warning events of CloudWatch log groups, `lookback_s` before the instant, grouped into signatures.

    Uses `filter_log_events` with a filter pattern for error words, reads up to 20,000 events per group,
    and groups them like pod logs: each signature has a count, first/last seen times, an example and the
    `group/stream` sources. Use it for services whose logs go to CloudWatch (Lambda, ECS, Bedrock callers).
    """
    start, end = at - timedelta(seconds=lookback_s), at
    query = (f"filter_log_events groups={list(groups)} pattern={filter_pattern!r} "
             f"start={start.isoformat()} end={end.isoformat()}")
    if logs is None:
        return result(TOOL, "error", query, error="CloudWatch Logs is not configured (no client)")
    if not groups:
        return result(TOOL, "error", query, error="no CloudWatch log groups configured (setting cloudwatch_log_groups)")
    grouping, sources, errors = Grouping(), [], {}
    deadline = time.monotonic() + timeout_s  # bounds the paging, never what is looked at
    for group in groups:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(start.timestamp() * 1000),
                                  "endTime": int(end.timestamp() * 1000), "filterPattern": filter_pattern}
        read = 0
        try:
            while read < MAX_EVENTS:
                page = logs.filter_log_events(**kwargs)
                events = page.get("events")
                if not isinstance(events, list):
                    raise ValueError(f"unexpected answer: {str(page)[:200]}")
                for event in events:
                    stamp = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC)
                    grouping.add(stamp, str(event.get("message", "")), f"{group}/{event.get('logStreamName', '')}")
                read += len(events)
                token = page.get("nextToken")
                if not token or token == kwargs.get("nextToken") or time.monotonic() > deadline:
                    break
                kwargs["nextToken"] = token
        except Exception as exc:  # unreachable, timeout, AccessDenied, ResourceNotFound, malformed answer
            errors[group] = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        sources.append(group)
    data = frame("cloudwatch", start, end, grouping, sources, errors, log_groups=list(groups),
                 filter_pattern=filter_pattern)
    return outcome(TOOL, query, data, len(groups))
