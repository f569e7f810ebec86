# ruff: noqa: E501
"""Scenario stories where the alert fires on a front service and the cause is one or two calls down: a vector
database, a semantic cache, an embedding service, a model server, a feature store, a reranker (see
evals/generate.py). The call graph is shown in one of the three conventions the service-graph tool reads
(OpenTelemetry servicegraph / Tempo, Istio, Linkerd); each has a decoy dependency that fails all the time."""

from __future__ import annotations

from collections.abc import Callable

from scenario_kit import Builder, at, step_of
from workloads import wobble, workload

FORBID = ["provider.failover", "model.rollback", "prompt.rollback", "k8s.cordon"]


def _edge(b: Builder, convention: str, ns: str, client: str, server: str, rpm: float) -> None:
    if convention == "servicegraph":
        b.counter("traces_service_graph_request_total", {"client": client, "server": server}, lambda i: rpm)
    elif convention == "istio":
        b.counter("istio_requests_total", {"reporter": "source", "source_workload": client,
                                           "source_workload_namespace": ns, "destination_workload": server,
                                           "destination_workload_namespace": ns, "response_code": "200"},
                  lambda i: rpm)
    else:
        b.counter("response_total", {"direction": "outbound", "namespace": ns, "deployment": client,
                                     "dst_deployment": server, "classification": "success", "status_code": "200"},
                  lambda i: rpm)


def _red(b: Builder, svc: str, ns: str, rpm: float, latency: Callable[[int], float],
         errors: Callable[[int], float], seed: int) -> None:
    labels = {"service": svc, "namespace": ns}
    b.counter("http_requests_total", {**labels, "code": "200"},
              lambda i: rpm * (1 - errors(i)) * wobble(i, seed))
    if any(errors(i) > 0 for i in range(151)):
        b.counter("http_requests_total", {**labels, "code": "500"}, lambda i: rpm * errors(i) * wobble(i, seed))
    b.counter("http_request_duration_seconds_sum", labels, lambda i: rpm * latency(i) * wobble(i, seed + 7))
    b.counter("http_request_duration_seconds_count", labels, lambda i: rpm)


def dependency_fault(sid: str, title: str, front: str, ns: str, chain: list[tuple[str, float]], cause: str,
                     signal: str, convention: str, decoy: str, onset: int, added: float, rpm: float, *,
                     seed: int = 0, recovered_at: int | None = None) -> Builder:
    """`chain`: (service, normal latency s) from the front's callee down; `cause` is one of them. Every service
    from the cause up to the front slows by `added` seconds (latency) or passes on an `added` 5xx share (errors)
    from `onset` minutes ago (until `recovered_at` minutes ago, for a transient fault)."""
    names = [front, *(name for name, _ in chain)]
    depth = names.index(cause)
    b = Builder(sid, title, f"""{front} alerts on its {'latency' if signal == 'latency' else 'error ratio'}; the
        change began in {cause}, {depth} call(s) down ({' -> '.join(names[:depth + 1])}), {onset} minutes ago
        {f'and was over {recovered_at} minutes ago' if recovered_at else ''}. The graph is read from
        {convention} metrics; {decoy}, which {front} also calls, fails half its requests all the time. Nothing
        was deployed; model, prompt and provider are fine.""", ["infra", "cascade", "dependency", convention])
    start, end = step_of(onset), (step_of(recovered_at) if recovered_at else 10**6)

    def bad(i: int) -> bool:
        return start <= i < end

    base = {front: 0.12 + 0.01 * seed, **dict(chain)}
    for k, name in enumerate(names):
        affected = k <= depth
        lat = base[name]
        extra_lat = added if signal == "latency" and affected else 0.0
        extra_err = added if signal == "errors" and affected else 0.0
        _red(b, name, ns, rpm, lambda i, lat=lat, x=extra_lat: lat + (x if bad(i) else 0.0),
             lambda i, x=extra_err: 0.002 + (x if bad(i) else 0.0), seed + k)
        workload(b, name, ns, 2, f"registry.local/{name}:3.{seed}.{k}", lambda i: {}, revision=4 + k)
    _red(b, decoy, ns, rpm / 2, lambda i: 0.004, lambda i: 0.5, seed + 20)
    workload(b, decoy, ns, 2, f"registry.local/{decoy}:1.{seed}.0", lambda i: {}, revision=3)
    for caller, callee in zip(names, names[1:], strict=False):
        _edge(b, convention, ns, caller, callee, rpm)
    _edge(b, convention, ns, front, decoy, rpm / 2)
    sel = f'service="{front}",namespace="{ns}"'
    if signal == "latency":
        threshold = round(base[front] + added / 2, 3)
        b.alert("HTTPLatencyHigh", {"service": front, "namespace": ns, "severity": "warning"},
                f"{front}'s mean latency is above {threshold:g}s", at(start + 6),
                f"sum(rate(http_request_duration_seconds_sum{{{sel}}}[5m])) / "
                f"sum(rate(http_request_duration_seconds_count{{{sel}}}[5m])) > {threshold:g}")
    else:
        b.alert("HTTPErrorRateHigh", {"service": front, "namespace": ns, "severity": "critical"},
                f"{front} answers more than 5% of requests with 5xx", at(start + 6),
                f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[5m])) / sum(rate(http_requests_total{{{sel}}}[5m])) > 0.05')
    b.expects("infra", {"service": cause}, ["k8s.rollout_restart", "notify.escalate"], FORBID)
    return b


def dependency_stories() -> list[Builder]:
    return [
        dependency_fault("rag-answers-qdrant-slow", "rag-answers is slow because its Qdrant vector search slowed down",
                         "rag-answers", "knowledge", [("qdrant", 0.03)], "qdrant", "latency", "servicegraph",
                         "answer-cache", 24, 0.9, 300.0),
        dependency_fault("support-copilot-embedder-slow", "support-copilot waits on a slow embedding service behind its retriever",
                         "support-copilot", "support", [("retriever", 0.05), ("text-embedder", 0.02)], "text-embedder",
                         "latency", "istio", "ticket-cache", 31, 1.4, 180.0, seed=1),
        dependency_fault("chat-gateway-vllm-5xx", "chat-gateway passes on the 5xx of its vLLM model server",
                         "chat-gateway", "assistants", [("vllm-llama", 0.8)], "vllm-llama", "errors", "linkerd",
                         "session-store", 17, 0.18, 240.0, seed=2),
        dependency_fault("recs-copilot-feast-slow", "recs-copilot is slow because the Feast feature server slowed down",
                         "recs-copilot", "commerce", [("feast-server", 0.015)], "feast-server", "latency", "servicegraph",
                         "promo-cache", 42, 0.6, 420.0, seed=3),
        dependency_fault("search-assist-reranker-errors", "search-assist fails where its reranker returns errors",
                         "search-assist", "search", [("reranker", 0.09)], "reranker", "errors", "istio",
                         "query-log", 22, 0.25, 350.0, seed=4),
        dependency_fault("helpdesk-bot-gptcache-slow", "helpdesk-bot slows down with its semantic cache (GPTCache)",
                         "helpdesk-bot", "support", [("gptcache", 0.006)], "gptcache", "latency", "linkerd",
                         "crm-adapter", 36, 0.5, 200.0, seed=5),
        dependency_fault("doc-qa-weaviate-errors", "doc-qa errors because Weaviate under its retriever fails",
                         "doc-qa", "knowledge", [("doc-retriever", 0.04), ("weaviate", 0.02)], "weaviate", "errors",
                         "servicegraph", "pdf-cache", 28, 0.3, 260.0, seed=6),
        dependency_fault("code-assist-tgi-slow", "code-assist is slow because its TGI model server slowed down",
                         "code-assist", "devtools", [("tgi-starcoder", 1.1)], "tgi-starcoder", "latency", "istio",
                         "snippet-cache", 19, 2.5, 90.0, seed=7),
        dependency_fault("kb-search-embedder-errors", "kb-search fails because the embedding service under its indexer errors",
                         "kb-search", "knowledge", [("kb-indexer", 0.03), ("bge-embedder", 0.02)], "bge-embedder",
                         "errors", "linkerd", "kb-cache", 33, 0.22, 310.0, seed=8),
        dependency_fault("shop-assistant-feature-store-5xx", "shop-assistant fails where its feature store returns 5xx",
                         "shop-assistant", "commerce", [("feature-store", 0.02)], "feature-store", "errors",
                         "servicegraph", "cart-cache", 26, 0.15, 280.0, seed=9),
        dependency_fault("legal-search-milvus-slow-transient", "legal-search slowed while Milvus compacted; it is over by now",
                         "legal-search", "legal", [("milvus", 0.04)], "milvus", "latency", "istio", "clause-cache",
                         40, 1.2, 150.0, seed=10, recovered_at=12),
        dependency_fault("tutor-bot-reranker-slow", "tutor-bot is slow because the reranker behind its retriever slowed down",
                         "tutor-bot", "education", [("lesson-retriever", 0.05), ("cross-reranker", 0.08)],
                         "cross-reranker", "latency", "linkerd", "lesson-cache", 27, 0.8, 220.0, seed=11),
    ]
