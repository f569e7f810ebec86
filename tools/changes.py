"""What changed before the alert: one timeline from the change feed, Kubernetes rollouts and metric labels.

Sources, each entry tagged with it:
- `api`: change events posted to `/changes` (CI/CD, registries), from the store;
- `kubernetes`: ReplicaSet revisions of the alert's Deployment created in the window (kind `rollout`);
- `metrics`: a `model_version` or `prompt_version` label value first seen on the service's LLM requests in
  the window (kind `model` or `prompt`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from agent.models import Evidence
from tools import prometheus
from tools.catalog import Catalog
from tools.kubernetes import find_workload, replica_sets
from tools.result import result

TOOL = "changes"
LOOKBACK_S = 4 * 3600.0
VERSION_KINDS = {"model_version": "model", "prompt_version": "prompt"}


def _entry(at: str | None, kind: str, target: str, source: str, *, name: str = "", from_: str = "", to: str = "",
           actor: str = "", detail: str = "") -> dict[str, Any]:
    return {"at": at, "kind": kind, "target": target, "source": source, "name": name, "from": from_, "to": to,
            "actor": actor, "detail": detail}


def from_store(store: Any, service: str, namespace: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    found = store.changes_between(start, end, service=service or None, namespace=namespace or None)
    return [_entry(c.at.isoformat(), c.kind, "/".join(p for p in (c.namespace, c.service) if p), c.source or "api",
                   name=c.name, from_=c.from_, to=c.to, actor=c.actor,
                   detail=", ".join(f"{k}={v}" for k, v in sorted(c.extra.items()))[:200]) for c in found]


def from_kubernetes(api: Any, namespace: str, labels: Mapping[str, str], start: datetime, end: datetime,
                    timeout_s: float) -> list[dict[str, Any]]:
    found = find_workload(api, namespace, labels, timeout_s)
    if found is None or found.kind != "Deployment":
        return []
    revisions = replica_sets(api, namespace, found.obj, timeout_s)  # newest first
    out = []
    for i, rev in enumerate(revisions):
        created = datetime.fromisoformat(rev["created"]) if rev["created"] else None
        if created is None or not start <= created <= end:
            continue
        before = revisions[i + 1] if i + 1 < len(revisions) else None
        out.append(_entry(rev["created"], "rollout", f"{namespace}/{found.name}", "kubernetes",
                          name=rev["replicaset"], from_=",".join(before["images"]) if before else "",
                          to=",".join(rev["images"]),
                          detail=f"revision {before['revision'] if before else '?'} -> {rev['revision']}"))
    return out


def from_metrics(prom: Any, catalog: Catalog, service: str, namespace: str, at: datetime, lookback_s: float,
                 timeout_s: float) -> list[dict[str, Any]]:
    selector = f"{catalog.metrics['llm_requests']}{{{catalog.selector(service=service, namespace=namespace)}}}"
    out = []
    for label, kind in VERSION_KINDS.items():
        name = catalog.label(label)
        found = prometheus.label_history(prom, selector, name, at, lookback_s=lookback_s, timeout_s=timeout_s)
        if found.status == "error":
            raise prometheus.QueryFailed(found.error)
        if found.status != "ok":
            continue
        values = found.data["values"]  # earliest first
        for i, value in enumerate(values):
            if value["new"] and value["label_value"]:
                before = values[i - 1]["label_value"] if i else ""
                out.append(_entry(value["first_seen"], kind, "/".join(p for p in (namespace, service) if p), "metrics",
                                  name=name, from_=before, to=value["label_value"],
                                  detail=f"{name}={value['label_value']} first seen on {selector}"))
    return out


def changes(store: Any, prom: Any, api: Any, catalog: Catalog, service: str, namespace: str,
            labels: Mapping[str, str], at: datetime, *, lookback_s: float = LOOKBACK_S,
            timeout_s: float = 10.0) -> Evidence:
    """Everything that changed in the hours before the instant, oldest first: deploys and config changes
    posted by CI/CD, Kubernetes rollouts (new ReplicaSet revisions with their images), and new model or
    prompt versions seen in the service's metrics.

    Use it to find the change that lines up with the onset of the alert: a rollout, a prompt version or a
    model version that appeared shortly before the trouble. Each entry has `at`, `kind`, `target`, `source`.
    """
    start = at - timedelta(seconds=lookback_s)
    query = (f"changes of {namespace}/{service} from {start.isoformat()} to {at.isoformat()} "
             "(store, ReplicaSet revisions, model_version/prompt_version labels)")
    timeline: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    sources = {
        "api": lambda: from_store(store, service, namespace, start, at),
        "kubernetes": lambda: from_kubernetes(api, namespace, labels, start, at, timeout_s) if api else [],
        "metrics": lambda: from_metrics(prom, catalog, service, namespace, at, lookback_s, timeout_s)
        if prom is not None and service else [],
    }
    for source, read in sources.items():
        try:
            timeline.extend(read())
        except Exception as exc:  # one source down must not hide the others
            errors[source] = f"{type(exc).__name__}: {str(exc)[:200]}"
    timeline.sort(key=lambda c: datetime.fromisoformat(c["at"]).timestamp() if c["at"] else 0.0)
    data = {"start": start.isoformat(), "end": at.isoformat(), "changes": timeline, "errors": errors}
    if timeline:
        last = timeline[-1]
        return result(TOOL, "ok", query, data=data,
                      summary=f"{len(timeline)} changes; latest {last['kind']} {last['to'] or last['name']} "
                              f"at {last['at']} ({last['source']})")
    if len(errors) == len(sources):
        return result(TOOL, "error", query, data=data, error=f"every change source failed: {errors}")
    return result(TOOL, "no_data", query, data=data, summary="no changes in the window")
