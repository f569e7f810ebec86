"""Kubernetes pod logs of the workload behind an alert, grouped into error signatures (read-only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from agent.models import Evidence
from tools.kubernetes import workload_pods
from tools.result import result
from tools.signatures import Grouping

TOOL = "logs.kubernetes"
MAX_PODS = 10
TAIL_LINES = 5000
LIMIT_BYTES = 5_000_000


def parse_stamped(line: str) -> tuple[datetime | None, str]:
    """Split a `timestamps=true` log line into its RFC 3339 time and its text."""
    head, _, rest = line.partition(" ")
    try:
        return datetime.fromisoformat(head.replace("Z", "+00:00")), rest
    except ValueError:
        return None, line


def frame(source: str, start: datetime, end: datetime, grouping: Grouping, sources: list[str],
          errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The `data` of a log tool (tools/EVIDENCE.md, "Logs")."""
    signatures, truncated = grouping.top()
    return {"source": source, **extra, "since": start.isoformat(), "until": end.isoformat(),
            "lines_read": grouping.lines_read, "lines_matched": grouping.lines_matched, "sources": sources,
            "signatures": signatures, "truncated": truncated, "errors": errors}


def outcome(tool: str, query: str, data: dict[str, Any], attempted: int) -> Evidence:
    """ok with signatures; error when every source failed; no_data otherwise."""
    if data["signatures"]:
        top = data["signatures"][0]
        return result(tool, "ok", query, data=data,
                      summary=f"{data['lines_matched']} error/warning lines in {len(data['signatures'])} signatures; "
                              f"top ({top['count']}x): {top['signature'][:120]}")
    if attempted and len(data["errors"]) >= attempted:
        return result(tool, "error", query, data=data, error=f"every log source failed: "
                                                             f"{next(iter(data['errors'].values()))}")
    return result(tool, "no_data", query, data=data, summary=f"no error lines in {data['lines_read']} lines")


def pod_logs(api: Any, namespace: str, labels: Mapping[str, str], at: datetime, *, lookback_s: float = 1800.0,
             timeout_s: float = 10.0) -> Evidence:
    """Error and warning lines from the logs of the alert's pods, grouped into signatures with counts.

    Reads the last lines of every container of up to 10 of the workload's pods (and of the previous
    container after a restart), keeps lines from `lookback_s` before the instant up to the instant, and
    groups the error-looking ones: each signature has a count, first/last seen times, an example line and
    the pods it came from. Use it to read what the application says is wrong (parse failures, 429s from a
    provider, CUDA out of memory, connection refused).
    """
    query = f"GET /api/v1/namespaces/{namespace}/pods/{{pod}}/log?timestamps=true&tailLines={TAIL_LINES}"
    if api is None:
        return result(TOOL, "error", query, error="Kubernetes is not configured")
    start, end = at - timedelta(seconds=lookback_s), at
    try:
        pods = workload_pods(api, namespace, labels, timeout_s)[:MAX_PODS]
    except ApiException as exc:
        return result(TOOL, "error", query, error=f"Kubernetes API answered {exc.status}: {exc.reason}")
    except Exception as exc:
        return result(TOOL, "error", query, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    if not pods:
        return result(TOOL, "no_data", query, summary="no pods found for the alert")
    core: Any = k8s.CoreV1Api(api)
    grouping, sources, errors, attempted = Grouping(), [], {}, 0
    for pod in pods:
        restarted = {s.name for s in (pod.status.container_statuses or []) if (s.restart_count or 0) > 0} \
            if pod.status else set()
        for container in pod.spec.containers:
            for previous in (False, True) if container.name in restarted else (False,):
                source = f"{namespace}/{pod.metadata.name}/{container.name}" + (" (previous)" if previous else "")
                attempted += 1
                try:
                    text = core.read_namespaced_pod_log(
                        pod.metadata.name, namespace, container=container.name, timestamps=True,
                        tail_lines=TAIL_LINES, limit_bytes=LIMIT_BYTES, previous=previous or None,
                        _request_timeout=timeout_s)
                except ApiException as exc:
                    if not previous:
                        errors[source] = f"ApiException {exc.status}: {exc.reason}"
                    else:
                        attempted -= 1  # no previous container is not a failure
                    continue
                except Exception as exc:
                    errors[source] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    continue
                if not isinstance(text, str):
                    errors[source] = f"unexpected log body: {type(text).__name__}"
                    continue
                sources.append(source)
                for line in text.splitlines():
                    stamp, body = parse_stamped(line)
                    if not body.strip() or (stamp is not None and not start <= stamp <= end):
                        continue
                    grouping.add(stamp, body, f"{namespace}/{pod.metadata.name}/{container.name}")
    data = frame("kubernetes", start, end, grouping, sources, errors, namespace=namespace)
    return outcome(TOOL, query, data, attempted)
