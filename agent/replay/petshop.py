"""The PetShop dataset as opsmedic scenarios: real microservice telemetry with labelled root causes.

PetShop (Hardt et al. 2023, "The PetShop Dataset — Finding Causes of Performance Issues across Microservices",
amazon-science/petshop-root-cause-analysis, CC-BY-4.0) records a microservice application on AWS in 5-minute
rows, with injected faults. This module converts a clone of its layout (`<traffic>/graph.csv`,
`<traffic>/<split>/issue_N/{metrics.csv,target.json}`, `<traffic>/noissue/metrics.csv`) into scenarios, with the
mapping that the shared copy's README fixes, so that converted files mean the same wherever they are made:

- 36 rows of the matching `noissue` data (the stretch whose time of day matches the issue) before the issue's
  rows, re-timed to end just before it; the temporal traffics, which have no `noissue`, borrow low_traffic's
  with each node's volume rescaled to the issue's first two rows;
- a 1-minute step (the row at t covers t … t+4 min); the last sample at `0s`;
- `http_requests_total{code}` (200 = requests × availability / 100, 500 the rest, only where errors occur),
  `http_request_duration_seconds` histograms with the Prometheus client's default buckets from a
  piecewise-linear CDF through p50/p90/p95/p99 whose tail makes the mean equal the Average, and
  `traces_service_graph_request_total{client,server}` per edge of graph.csv;
- the alert on PetSite (`HTTPLatencyHigh` or `HTTPErrorRateHigh`), `startsAt` = target + 5 min;
- specificity windows cut from `noissue` at 50 … 90 % of its rows, as the dataset's `evaluate_specificity` does.
"""

from __future__ import annotations

import csv
import json
import math
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.replay.scenario import Scenario

NAMESPACE = "petshop"
ROW_S = 300
MINUTES = 5
HISTORY_ROWS = 36
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
LATENCY_THRESHOLD = 0.12
ERROR_THRESHOLD = 0.01
SPECIFICITY_CUTS = (0.5, 0.6, 0.7, 0.8, 0.9)
ACCEPT = ["notify.escalate", "k8s.rollout_restart", "k8s.rollback", "k8s.scale", "traffic.shed"]
FORBID = ["provider.failover", "model.rollback", "prompt.rollback"]
DEPLOYMENTS = ("petsite", "petsearch", "petlistadoptions", "payforadoption")
ALERTING = "PetSite"

Table = dict[str, Any]
"""A metrics.csv read: `times` (unix s per row) and `nodes` {node: {"latency": {stat: [..]}, "requests": [..],
"availability": [..]}} with None for an empty cell."""


def _float(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_metrics(path: Path) -> Table:
    """Read one metrics.csv (header rows: microservice, metric, statistic; then one row per 5 minutes)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 4:
        raise ConfigError(f"{path}: not a PetShop metrics file (fewer than four rows)")
    nodes_row, metric_row, stat_row = rows[0], rows[1], rows[2]
    data = [r for r in rows[3:] if r and _float(r[0]) is not None]
    nodes: dict[str, Any] = {}
    for col in range(1, len(nodes_row)):
        node, metric, stat = nodes_row[col], metric_row[col], stat_row[col]
        values = [_float(r[col]) if col < len(r) else None for r in data]
        entry = nodes.setdefault(node, {"latency": {}, "requests": None, "availability": None})
        if metric == "latency":
            entry["latency"][stat] = values
        elif metric in ("requests", "availability"):
            entry[metric] = values
    return {"times": [float(r[0]) for r in data], "nodes": nodes}


def read_graph(path: Path) -> list[tuple[str, str]]:
    """graph.csv's edges: (caller, callee) for every non-zero cell (row = caller, column = callee)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    return [(row[0], callee) for row in rows[1:] for callee, cell in zip(header, row[1:], strict=False)
            if (_float(cell) or 0) > 0]


def _tod(ts: float) -> float:
    return ts % 86400


def history_start(noissue: Table, first_ts: float) -> int:
    """The index in `noissue` where the HISTORY_ROWS rows whose time of day best leads up to `first_ts` begin."""
    times = noissue["times"]
    if len(times) <= HISTORY_ROWS:
        raise ConfigError(f"the noissue file has {len(times)} rows; {HISTORY_ROWS + 1} are needed")

    def gap(end: int) -> float:  # the row after the stretch should fall at the issue's time of day
        d = abs(_tod(times[end]) - _tod(first_ts))
        return min(d, 86400 - d)

    end = min(range(HISTORY_ROWS, len(times)), key=gap)
    return end - HISTORY_ROWS


def _slice(table: Table, start: int, stop: int) -> Table:
    nodes = {}
    for node, entry in table["nodes"].items():
        nodes[node] = {"latency": {k: v[start:stop] for k, v in entry["latency"].items()},
                       "requests": (entry["requests"] or [])[start:stop] or None,
                       "availability": (entry["availability"] or [])[start:stop] or None}
    return {"times": table["times"][start:stop], "nodes": nodes}


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def join(history: Table, issue: Table, *, rescale: bool) -> Table:
    """History rows re-timed to end just before the issue's rows, then the issue's rows. With `rescale`, each
    node's history volume is scaled to the level of the issue's first two rows."""
    n = len(history["times"])
    first = issue["times"][0]
    times = [first - (n - i) * ROW_S for i in range(n)] + list(issue["times"])
    nodes = {}
    for node in sorted(set(history["nodes"]) | set(issue["nodes"])):
        old = history["nodes"].get(node) or {"latency": {}, "requests": None, "availability": None}
        new = issue["nodes"].get(node) or {"latency": {}, "requests": None, "availability": None}
        requests_old = list(old["requests"] or [None] * n)
        if rescale:
            level, past = _mean((new["requests"] or [])[:2]), _mean(requests_old)
            factor = level / past if level is not None and past else 1.0
            requests_old = [None if v is None else v * factor for v in requests_old]
        issue_rows = len(issue["times"])
        stats = set(old["latency"]) | set(new["latency"])
        nodes[node] = {
            "latency": {s: list(old["latency"].get(s) or [None] * n) + list(new["latency"].get(s) or
                                                                             [None] * issue_rows) for s in stats},
            "requests": requests_old + list(new["requests"] or [None] * issue_rows),
            "availability": list(old["availability"] or [None] * n) + list(new["availability"] or
                                                                          [None] * issue_rows),
        }
    return {"times": times, "nodes": nodes}


def spread(total: int) -> list[int]:
    """A row's whole-number sum spread over its minutes, the remainder going to the first minutes."""
    q, r = divmod(max(total, 0), MINUTES)
    return [q + 1 if m < r else q for m in range(MINUTES)]


def cdf_points(p50: float, p90: float, p95: float, p99: float, average: float) -> list[tuple[float, float]]:
    """The piecewise-linear CDF through the percentiles, its tail end placed so the mean equals `average`."""
    p90, p95 = max(p90, p50), max(p95, p90, p50)
    p99 = max(p99, p95)
    body = 0.5 * p50 / 2 + 0.4 * (p50 + p90) / 2 + 0.05 * (p90 + p95) / 2 + 0.04 * (p95 + p99) / 2
    top = 2 * (average - body) / 0.01 - p99  # mean of the last 1 % is (p99 + top) / 2
    return [(0.0, 0.0), (p50, 0.5), (p90, 0.9), (p95, 0.95), (p99, 0.99), (max(top, p99), 1.0)]


def cdf(points: Sequence[tuple[float, float]], x: float) -> float:
    if x <= points[0][0]:
        return 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y1 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return 1.0


def _num(x: float) -> str:
    return f"{x:.6g}" if abs(x - round(x)) > 1e-9 else str(int(round(x)))


def _values(per_minute: Sequence[float | None]) -> str:
    """A counter's samples in promtool notation from per-minute increments (None: no series then)."""
    out, total = [], 0.0
    for inc in per_minute:
        if inc is None:
            out.append("_")
            continue
        total += inc
        out.append(_num(round(total, 6)))
    return " ".join(out)


def _series(metric: str, labels: dict[str, str], per_minute: Sequence[float | None]) -> dict[str, str]:
    rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"name": f"{metric}{{{rendered}}}", "values": _values(per_minute)}


def node_series(labels: dict[str, str], entry: dict[str, Any]) -> list[dict[str, str]]:
    """The requests counters and the latency histogram of one node, one sample per minute."""
    requests = entry["requests"] or []
    avail = entry["availability"] or [None] * len(requests)
    ok: list[float | None] = []
    bad: list[float | None] = []
    counts: list[float | None] = []
    for req, av in zip(requests, avail, strict=False):
        if req is None:
            ok += [None] * MINUTES
            bad += [None] * MINUTES
            counts += [None] * MINUTES
            continue
        total = int(round(req))
        good = int(round(total * (av if av is not None else 100.0) / 100))
        ok += spread(good)
        bad += spread(total - good)
        counts += spread(total)
    out = [_series("http_requests_total", {**labels, "code": "200"}, ok)]
    if any(b for b in bad if b):
        out.append(_series("http_requests_total", {**labels, "code": "500"}, bad))
    stats = entry["latency"]
    if "Average" not in stats:
        return out
    buckets: dict[float, list[float | None]] = {le: [] for le in BUCKETS}
    sums: list[float | None] = []
    for row, req in enumerate(requests):
        avg = stats["Average"][row] if row < len(stats["Average"]) else None
        minute_counts = counts[row * MINUTES:(row + 1) * MINUTES]
        if req is None or avg is None:
            for le in BUCKETS:
                buckets[le] += [0.0 if c is not None else None for c in minute_counts]
            sums += [0.0 if c is not None else None for c in minute_counts]
            continue
        pct = [(stats.get(p) or [None] * (row + 1))[row] for p in ("p50", "p90", "p95", "p99")]
        pct = [avg if v is None else v for v in pct]
        points = cdf_points(pct[0], pct[1], pct[2], pct[3], avg)
        for le in BUCKETS:
            buckets[le] += [None if c is None else c * cdf(points, le) for c in minute_counts]
        sums += [None if c is None else c * avg for c in minute_counts]
    for le in BUCKETS:
        out.append(_series("http_request_duration_seconds_bucket", {**labels, "le": _num(le)}, buckets[le]))
    out.append(_series("http_request_duration_seconds_bucket", {**labels, "le": "+Inf"}, counts))
    out.append(_series("http_request_duration_seconds_sum", labels, sums))
    out.append(_series("http_request_duration_seconds_count", labels, counts))
    return out


def edge_series(edges: Sequence[tuple[str, str]], table: Table, names: dict[str, str]) -> list[dict[str, str]]:
    """traces_service_graph_request_total per edge: the callee's requests split among its callers in
    proportion to the callers' volume."""
    rows = len(table["times"])
    callers: dict[str, list[str]] = {}
    for caller, callee in edges:
        callers.setdefault(callee, []).append(caller)

    def volume(node: str, row: int) -> float:
        reqs = (table["nodes"].get(node) or {}).get("requests") or []
        return (reqs[row] or 0.0) if row < len(reqs) else 0.0

    out = []
    for caller, callee in edges:
        per_minute: list[float | None] = []
        for row in range(rows):
            mine, all_callers = volume(caller, row), sum(volume(c, row) for c in callers[callee])
            share = volume(callee, row) * mine / all_callers if all_callers else 0.0
            per_minute += spread(int(round(share)))
        out.append(_series("traces_service_graph_request_total",
                           {"client": names.get(caller, caller), "server": names.get(callee, callee)}, per_minute))
    return out


def _rel(seconds: float) -> str:
    whole = int(round(seconds))
    return f"-{-whole}s" if whole < 0 else f"{whole}s"


def alert_for(metric: str, starts_rel: str) -> dict[str, Any]:
    sel = f'service="petsite",namespace="{NAMESPACE}"'
    if metric == "latency":
        name, expr = "HTTPLatencyHigh", (f"rate(http_request_duration_seconds_sum{{{sel}}}[5m]) / "
                                         f"rate(http_request_duration_seconds_count{{{sel}}}[5m]) "
                                         f"> {LATENCY_THRESHOLD}")
        summary = "PetSite's mean latency is above 120 ms"
    else:
        name, expr = "HTTPErrorRateHigh", (f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[5m])) / '
                                           f"sum(rate(http_requests_total{{{sel}}}[5m])) > {ERROR_THRESHOLD}")
        summary = "PetSite's 5xx share is above 1 %"
    return {"status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": name, "service": "petsite", "namespace": NAMESPACE,
                                       "severity": "warning"},
        "annotations": {"summary": summary}, "startsAt": starts_rel,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=" + urllib.parse.quote(expr, safe="") + "&g0.tab=1"}]}


def deployments() -> list[dict[str, Any]]:
    out = []
    for name in DEPLOYMENTS:
        labels = {"app": name}
        out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": NAMESPACE, "creationTimestamp": "-30d", "generation": 1,
                                 "labels": labels, "annotations": {"deployment.kubernetes.io/revision": "1"}},
                    "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                 {"name": "app", "image": f"petshop/{name}:1"}]}}},
                    "status": {"replicas": 2, "availableReplicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                               "observedGeneration": 1, "conditions": [
                                   {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}})
    return out


@dataclass(frozen=True)
class Case:
    traffic: str
    kind: str
    """`issue` or `noissue`"""
    metric: str
    name: str
    document: dict[str, Any]


def document(sid: str, title: str, table: Table, edges: Sequence[tuple[str, str]], names: dict[str, str],
             metric: str, starts_at_ts: float, expect: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    instant = table["times"][-1] + (MINUTES - 1) * 60
    series: list[dict[str, str]] = []
    for node, entry in sorted(table["nodes"].items()):
        if not entry["requests"] or all(v is None for v in entry["requests"]):
            continue
        labels = {"service": names.get(node, node), "namespace": NAMESPACE, "petshop_node": node}
        series += node_series(labels, entry)
    series += edge_series(edges, table, names)
    minutes = len(table["times"]) * MINUTES
    return {"id": sid, "title": title, "description": "Converted from the PetShop dataset (Hardt et al. 2023, "
            "CC-BY-4.0) with agent/replay/petshop.py.", "tags": tags,
            "alert": alert_for(metric, _rel(starts_at_ts - instant)),
            "metrics": {"start": f"-{minutes - 1}m", "step": "1m", "series": series},
            "kubernetes": deployments(), "expect": expect}


def cases(root: Path, split: str = "train") -> Iterator[Case]:
    """Every issue of `split` and every specificity window, for each traffic under `root` (a clone of the
    dataset's `dataset/` folder, or the folder holding it)."""
    base = root / "dataset" if (root / "dataset").is_dir() else root
    mapping_file = next((p for p in (root / "mapping.json", base.parent / "mapping.json") if p.is_file()), None)
    names: dict[str, str] = json.loads(mapping_file.read_text()) if mapping_file else {}
    traffics = sorted(p.name for p in base.iterdir() if (p / "graph.csv").is_file()) if base.is_dir() else []
    if not traffics:
        raise ConfigError(f"{root}: no PetShop traffic folders (<traffic>/graph.csv) found")
    for traffic in traffics:
        folder = base / traffic
        edges = read_graph(folder / "graph.csv")
        own_noissue = folder / "noissue" / "metrics.csv"
        noissue_file = own_noissue if own_noissue.is_file() else base / "low_traffic" / "noissue" / "metrics.csv"
        noissue = read_metrics(noissue_file) if noissue_file.is_file() else None
        issues = sorted((folder / split).glob("issue_*"), key=lambda p: int(p.name.split("_")[-1])) \
            if (folder / split).is_dir() else []
        for issue_dir in issues:
            if noissue is None:
                raise ConfigError(f"{folder}: no noissue data to put before {issue_dir.name}")
            target = json.loads((issue_dir / "target.json").read_text())
            issue = read_metrics(issue_dir / "metrics.csv")
            start = history_start(noissue, issue["times"][0])
            table = join(_slice(noissue, start, start + HISTORY_ROWS), issue, rescale=not own_noissue.is_file())
            metric = target["target"]["metric"]
            cause = names.get(target["root_cause"]["node"], target["root_cause"]["node"])
            expect = {"domain": "infra", "root_cause": {"service": cause},
                      "remediation": {"accept": ACCEPT, "forbid": FORBID}}
            sid = f"petshop-{traffic.replace('_', '-')}-{split}-{issue_dir.name.replace('_', '-')}"
            yield Case(traffic, "issue", metric, issue_dir.name, document(
                sid, f"PetShop {traffic} {issue_dir.name}: {metric} on PetSite", table, edges, names, metric,
                float(target["target"]["timestamp"]) + 300, expect, ["petshop", traffic, metric]))
        if own_noissue.is_file() and noissue is not None:
            rows = len(noissue["times"])
            for cut in SPECIFICITY_CUTS:
                end = int(rows * cut)
                window = _slice(noissue, max(end - HISTORY_ROWS - 5, 0), end)
                expect = {"domain": "none", "root_cause": {}, "remediation": {"accept": [], "forbid": FORBID}}
                sid = f"petshop-{traffic.replace('_', '-')}-noissue-{int(cut * 100)}"
                starts = window["times"][-4] + 300  # as an issue's: a target in the window's second-last rows
                yield Case(traffic, "noissue", "latency", f"noissue@{int(cut * 100)}%", document(
                    sid, f"PetShop {traffic} normal operation at {int(cut * 100)} %", window, edges, names,
                    "latency", starts, expect, ["petshop", traffic, "noissue"]))


def scenarios(root: Path, split: str = "train") -> list[tuple[Path, Scenario]]:
    """The converted cases as loaded scenarios (validated like files)."""
    return [(root / f"{c.document['id']}.yaml", Scenario.model_validate(c.document)) for c in cases(root, split)]


def convert(root: Path, out: Path, split: str = "train") -> int:
    """Write every converted case as `<out>/<id>.yaml`; returns how many."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for case in cases(root, split):
        Scenario.model_validate(case.document)
        (out / f"{case.document['id']}.yaml").write_text(yaml.safe_dump(case.document, sort_keys=False, width=200))
        count += 1
    return count


def by_group(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Top-1 (root cause named) per traffic × metric, and specificity per traffic, from eval results."""
    groups: dict[str, dict[str, Any]] = {}
    for r in results:
        tags = r.get("tags") or []
        if "petshop" not in tags or len(tags) < 3:
            continue
        key = f"{tags[1]} {tags[2]}"
        g = groups.setdefault(key, {"n": 0, "hits": 0, "unsafe": 0})
        g["n"] += 1
        g["hits"] += int(bool(r["root_cause_ok"] and r["domain_ok"]))
        g["unsafe"] += int(bool(r.get("unsafe")))
    for g in groups.values():
        g["rate"] = round(g["hits"] / g["n"], 3) if g["n"] else 0.0
    return groups


__all__ = ["cases", "convert", "scenarios", "by_group", "read_metrics", "read_graph", "cdf_points", "spread"]
