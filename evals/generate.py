# ruff: noqa: E501
"""Write the scenario files under evals/scenarios/ (DESIGN.md section 3).

    .venv/bin/python evals/generate.py            # rewrites evals/scenarios/<domain>/<id>.yaml

The YAML files are the source of truth and are committed; this script only keeps 60+ of them consistent and
varied (services, providers, magnitudes, onsets, alert names). Each story lives in evals/stories_*.py and
says in its `description` what happened, so every file makes sense on its own.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenario_kit import Builder  # noqa: E402
from stories_app import (  # noqa: E402
    model_change,
    model_drift,
    prompt_format_break,
    prompt_injection,
    prompt_quality,
    prompt_tokens,
    provider_fault,
)
from stories_deps import dependency_stories  # noqa: E402
from stories_infra import crashloop, model_server, no_fault, node_problem, stuck_pod, throttling  # noqa: E402

OUT = Path(__file__).parent / "scenarios"


def svc(provider: str, model: str, mver: str, pver: str, **kw: Any) -> dict[str, Any]:
    return {"provider": provider, "model": model, "mver": mver, "pver": pver, **kw}


OPENAI_41 = ("openai", "gpt-4.1", "2025-04-14")
OPENAI_MINI = ("openai", "gpt-4.1-mini", "2025-04-14")
OPENAI_4O = ("openai", "gpt-4o", "2024-08-06")
SONNET = ("anthropic", "claude-sonnet-4", "20250514")
HAIKU = ("anthropic", "claude-3-5-haiku", "20241022")
COHERE = ("cohere", "command-r-plus", "08-2024")
MISTRAL = ("mistral", "mistral-large", "2411")
MISTRAL_SMALL = ("mistral", "mistral-small", "2409")


def prompt_stories() -> list[Builder]:
    return [
        prompt_format_break("prompt-v13-breaks-json", "summarizer", "prod", svc(*OPENAI_41, "v12", rpm=50.0), "v13",
                            "invalid_json", 0.18, 40, posted=True, title="Prompt v13 of the summarizer breaks JSON output",
                            log_text="ERROR output parse failed: Expecting property name enclosed in double quotes: line 1 column {n}"),
        prompt_format_break("sql-copilot-prompt-v5-invalid-sql", "sql-copilot", "analytics", svc(*SONNET, "v4", rpm=35.0),
                            "v5", "invalid_sql", 0.31, 22, posted=True, seed=2,
                            title="sql-copilot prompt v5 makes the model emit SQL with markdown fences",
                            log_text="ERROR generated SQL rejected by parser: syntax error at or near \"```\" (query {id})"),
        prompt_format_break("translator-prompt-v12-missing-field", "translator", "localization",
                            svc(*MISTRAL, "v11", rpm=210.0), "v12", "missing_field", 0.09, 17, posted=False, seed=3,
                            title="translator prompt v12 drops the 'target_locale' field (no change event)",
                            log_text="ERROR response validation: field required: target_locale (request {id})"),
        prompt_format_break("ticket-router-prompt-v31-bad-enum", "ticket-router", "support",
                            svc(*OPENAI_MINI, "v30", rpm=90.0), "v31", "invalid_enum", 0.46, 9, posted=True, seed=4,
                            title="ticket-router prompt v31 returns queue names outside the allowed enum",
                            log_text="ERROR routing: 'billing-urgent' is not a valid Queue (ticket {id})"),
        prompt_tokens("chat-assistant-prompt-v8-token-bloat", "chat-assistant", "assistants",
                      svc(*OPENAI_4O, "v7", rpm=400.0, tin=1100.0, tout=260.0), "v8", 6400.0, 270.0, 35, alert="spend",
                      title="chat-assistant prompt v8 pastes the whole knowledge base into every request"),
        prompt_tokens("email-drafter-prompt-v31-long-outputs", "email-drafter", "growth",
                      svc(*SONNET, "v30", rpm=60.0, tin=700.0, tout=180.0), "v31", 760.0, 1400.0, 27, alert="latency",
                      seed=1, title="email-drafter prompt v31 lost its length limit: long drafts, slow answers"),
        prompt_tokens("meeting-notes-prompt-v6-few-shot-bloat", "meeting-notes", "workspace",
                      svc(*HAIKU, "v5", rpm=150.0, tin=3000.0, tout=400.0), "v6", 14500.0, 420.0, 44, alert="spend",
                      seed=2, title="meeting-notes prompt v6 adds twelve few-shot transcripts"),
        prompt_quality("doc-qa-prompt-v22-faithfulness-drop", "doc-qa", "knowledge",
                       svc(*OPENAI_41, "v21", evals={"faithfulness": 0.91, "relevance": 0.87}), "v22", "eval", 31,
                       metric="faithfulness", drop=0.19, title="doc-qa prompt v22 stops insisting on quoting sources"),
        prompt_quality("code-review-prompt-v3-relevance-drop", "code-review", "devtools",
                       svc(*SONNET, "v2", rpm=25.0, evals={"relevance": 0.83}), "v3", "eval", 52, drop=0.12, seed=3,
                       title="code-review prompt v3 reviews style instead of the diff"),
        prompt_quality("claims-triage-prompt-v4-refusals", "claims-triage", "insurance", svc(*OPENAI_4O, "v3", rpm=70.0),
                       "v4", "refused", 19, seed=5, title="claims-triage prompt v4's new policy wording makes the model refuse"),
        prompt_quality("product-describer-prompt-v17-guardrail", "product-describer", "catalog",
                       svc(*MISTRAL_SMALL, "v16", rpm=300.0, guardrail="brand_safety"), "v17", "guardrail", 14, seed=6,
                       title="product-describer prompt v17 invites superlatives the brand guardrail blocks"),
        prompt_injection("support-bot-injection-wave", "support-bot", "support", svc(*HAIKU, "v9", rpm=180.0), 16,
                         title="An injection campaign against support-bot trips the prompt_injection guardrail"),
        prompt_injection("kb-answers-injection-wave", "kb-answers", "knowledge", svc(*COHERE, "v14", rpm=95.0), 33,
                         seed=4, title="Scripted jailbreak attempts hit kb-answers from one tenant"),
    ]


def model_stories() -> list[Builder]:
    return [
        model_change("brief-writer-mini-snapshot-eval-drop", "brief-writer", "prod",
                     svc(*OPENAI_MINI, "v5", evals={"relevance": 0.88, "faithfulness": 0.9}), {"mver": "2025-11-04"},
                     "eval", 38, title="A new gpt-4.1-mini snapshot lowers brief-writer's eval scores"),
        model_change("support-bot-sonnet45-refusals", "support-bot", "support", svc(*SONNET, "v9", rpm=180.0),
                     {"model": "claude-sonnet-4-5", "mver": "20250929"}, "refused", 26, seed=1,
                     title="support-bot switched to claude-sonnet-4-5 and refuses account questions"),
        model_change("code-review-o3-latency", "code-review", "devtools", svc(*OPENAI_41, "v3", rpm=25.0),
                     {"model": "o3", "mver": "2025-04-16"}, "latency", 33, seed=2,
                     title="code-review moved to a reasoning model and p95 latency quintupled"),
        model_change("email-drafter-gpt41-cost-jump", "email-drafter", "growth", svc(*OPENAI_MINI, "v30", rpm=220.0),
                     {"model": "gpt-4.1", "mver": "2025-04-14"}, "cost", 48, seed=3,
                     title="email-drafter upgraded from gpt-4.1-mini to gpt-4.1: spend five times higher"),
        model_change("meeting-notes-haiku-update-pii-guardrail", "meeting-notes", "workspace",
                     svc(*HAIKU, "v6", rpm=150.0, guardrail="pii_output"), {"mver": "20251015"}, "guardrail", 21, seed=4,
                     title="A new haiku version echoes attendee phone numbers; the PII guardrail blocks them"),
        model_change("chat-assistant-gpt4o-alias-moved", "chat-assistant", "assistants",
                     svc(*OPENAI_4O, "v7", rpm=400.0, evals={"helpfulness": 0.84}), {"mver": "2024-11-20"}, "eval", 57,
                     posted=False, seed=5, title="The gpt-4o alias moved to a new snapshot without a change event"),
        model_change("kb-answers-finetune-v5-relevance", "kb-answers", "knowledge",
                     svc("self-hosted", "llama-3.1-8b-instruct", "ft-v4", "v14", rpm=95.0,
                         evals={"relevance": 0.81, "faithfulness": 0.88}), {"mver": "ft-v5"}, "eval", 29, seed=6,
                     title="Fine-tune ft-v5 of the self-hosted model answers off-topic"),
        model_change("ticket-router-mini-snapshot-bad-enum", "ticket-router", "support", svc(*OPENAI_MINI, "v31", rpm=90.0),
                     {"mver": "2025-10-30"}, "validation", 15, seed=7,
                     title="ticket-router fails validation after a model snapshot change, prompt untouched"),
        model_change("shopping-assistant-mistral-feedback", "shopping-assistant", "catalog",
                     svc(*MISTRAL, "v3", rpm=260.0, evals={"relevance": 0.85}), {"mver": "2502"}, "feedback", 41, seed=8,
                     title="Negative feedback triples after shopping-assistant moved to mistral-large 2502"),
        model_change("contract-review-sonnet45-latency", "contract-review", "legal", svc(*SONNET, "v2", rpm=12.0, p50=4.0),
                     {"model": "claude-sonnet-4-5", "mver": "20250929"}, "latency", 24, seed=9,
                     title="contract-review on the new model thinks longer: latency alert"),
        model_drift("doc-qa-faithfulness-drift", "doc-qa", "knowledge",
                    svc(*OPENAI_41, "v21", evals={"faithfulness": 0.91}), "faithfulness", 0.16,
                    title="doc-qa faithfulness drifts down for two hours with nothing changed"),
        model_drift("translator-fluency-drift", "translator", "localization",
                    svc(*MISTRAL, "v11", rpm=210.0, evals={"fluency": 0.9}), "fluency", 0.13, seed=3,
                    title="translator fluency slides as traffic shifts to new language pairs"),
        model_change("voice-agent-haiku-refusals", "voice-agent", "contact-center", svc(*HAIKU, "v12", rpm=500.0),
                     {"mver": "20251015"}, "refused", 12, seed=10,
                     title="voice-agent refuses to read back order details after a model update"),
    ]


def provider_stories() -> list[Builder]:
    outage = "outage"
    return [
        provider_fault("openai-outage-chat-assistant", outage, [("chat-assistant", "assistants", svc(*OPENAI_4O, "v7", rpm=400.0))],
                       "openai", 11, indicator="major", title="OpenAI API outage makes chat-assistant fail"),
        provider_fault("anthropic-rate-limit-support-bot", "rate_limited", [("support-bot", "support", svc(*SONNET, "v9", rpm=180.0))],
                       "anthropic", 18, indicator="none", seed=1, cascade=False,
                       title="support-bot hits Anthropic's requests-per-minute limit"),
        provider_fault("cohere-latency-search-ranker", "latency", [("search-ranker", "search", svc(*COHERE, "v2", rpm=600.0, p50=0.6))],
                       "cohere", 23, indicator="minor", alert="latency", seed=2,
                       title="Cohere latency makes search-ranker slow"),
        provider_fault("openai-quota-exhausted-email-drafter", "quota", [("email-drafter", "growth", svc(*OPENAI_MINI, "v30", rpm=220.0))],
                       "openai", 7, indicator="none", seed=3, cascade=False,
                       title="The OpenAI project ran out of quota: email-drafter gets insufficient_quota"),
        provider_fault("mistral-large-2402-retired", "deprecated", [("translator", "localization", svc("mistral", "mistral-large", "2402", "v11", rpm=210.0))],
                       "mistral", 5, indicator="none", seed=4, cascade=False,
                       title="mistral-large 2402 was retired; translator gets model_not_found"),
        provider_fault("openai-outage-via-litellm", outage, [("brief-writer", "prod", svc(*OPENAI_41, "v5"))], "openai", 14,
                       indicator="critical", via_gateway=True, seed=5, alert="http",
                       title="OpenAI outage seen through the LiteLLM gateway; brief-writer answers 5xx"),
        provider_fault("anthropic-overloaded-before-status-page", "overloaded", [("contract-review", "legal", svc(*SONNET, "v2", rpm=40.0))],
                       "anthropic", 6, indicator="none", seed=6,
                       title="Anthropic returns 529 overloaded before its status page says anything"),
        provider_fault("openai-timeouts-doc-qa", "timeout", [("doc-qa", "knowledge", svc(*OPENAI_41, "v21"))], "openai", 20,
                       indicator="minor", seed=7, alert="latency", title="OpenAI calls from doc-qa time out"),
        provider_fault("anthropic-rate-limit-ticket-router-http", "rate_limited", [("ticket-router", "support", svc(*HAIKU, "v30", rpm=300.0))],
                       "anthropic", 13, indicator="none", alert="http", seed=8,
                       title="ticket-router answers 5xx because Anthropic rate-limits it"),
        provider_fault("cohere-outage-rag-gateway", outage, [("rag-gateway", "knowledge", svc(*COHERE, "v4", rpm=350.0))],
                       "cohere", 9, indicator="major", alert="http", seed=9,
                       title="Cohere outage makes rag-gateway fail"),
        provider_fault("mistral-latency-no-status", "latency", [("product-describer", "catalog", svc(*MISTRAL_SMALL, "v16", rpm=300.0, p50=0.9))],
                       "mistral", 16, indicator="none", alert="latency", seed=10,
                       bystander=("shopping-assistant", "catalog", svc(*OPENAI_4O, "v3", rpm=260.0)),
                       title="Mistral got slow for product-describer while an OpenAI-backed neighbour is fine"),
        provider_fault("openai-rate-limit-batch-tenant", "rate_limited", [("claims-triage", "insurance", svc(*OPENAI_4O, "v3", rpm=70.0))],
                       "openai", 28, indicator="none", seed=11, cascade=False,
                       title="claims-triage is rate-limited by OpenAI's tokens-per-minute cap"),
        provider_fault("anthropic-outage-two-services", outage,
                       [("meeting-notes", "workspace", svc(*HAIKU, "v6", rpm=150.0)),
                        ("voice-agent", "contact-center", svc(*HAIKU, "v12", rpm=500.0))],
                       "anthropic", 8, indicator="major", seed=12,
                       title="Anthropic outage: meeting-notes and voice-agent alert together"),
        provider_fault("openai-outage-sql-copilot-http", outage, [("sql-copilot", "analytics", svc(*OPENAI_41, "v5", rpm=35.0))],
                       "openai", 4, indicator="critical", alert="http", seed=13,
                       title="OpenAI major outage four minutes old: sql-copilot 5xx"),
        provider_fault("cohere-timeouts-embed", "timeout", [("kb-answers", "knowledge", svc(*COHERE, "v14", rpm=95.0))],
                       "cohere", 19, indicator="minor", seed=14, title="Cohere calls from kb-answers time out"),
    ]


def infra_stories() -> list[Builder]:
    chat = svc(*OPENAI_4O, "v7", rpm=400.0)
    return [
        crashloop("ticket-router-crashloop-after-deploy", "ticket-router", "support", svc(*OPENAI_MINI, "v30", rpm=90.0),
                  18, cause="config", deploy=True, title="ticket-router 2.8.0 crash-loops: VECTOR_DB_URL missing"),
        crashloop("embedder-oom-leak", "embedder", "knowledge", svc("self-hosted", "text-embedding-3-small", "1", "v1"),
                  9, cause="oom", deploy=False, seed=1, title="embedder leaks memory and is OOMKilled"),
        crashloop("summarizer-worker-oom-after-deploy", "summarizer-worker", "prod", svc(*OPENAI_41, "v12", rpm=50.0),
                  21, cause="oom", deploy=True, seed=2, title="summarizer-worker 2.10.0 doubled its batch size and is OOMKilled"),
        crashloop("doc-qa-image-pull-backoff", "doc-qa", "knowledge", svc(*OPENAI_41, "v21"), 15, cause="imagepull",
                  deploy=True, seed=3, title="doc-qa rollout stuck: the new image tag does not exist"),
        crashloop("rag-gateway-5xx-embedder-bad-deploy", "embedder", "search", svc(*COHERE, "v4", rpm=350.0), 25,
                  cause="config", deploy=True, alert_on="rag-gateway", seed=4,
                  title="rag-gateway 5xx: the embedder it calls crash-loops after a deploy"),
        crashloop("chat-api-5xx-session-store-oom", "session-store", "assistants", chat, 13, cause="oom", deploy=False,
                  alert_on="chat-api", seed=5, title="chat-api 5xx: its session-store is OOMKilled"),
        throttling("sql-copilot-cpu-throttled", "sql-copilot", "analytics", svc(*SONNET, "v5", rpm=35.0), 28, 0.64,
                   title="sql-copilot CPU-throttled under higher traffic"),
        throttling("moderation-cpu-throttled", "moderation", "trust-safety", svc(*MISTRAL_SMALL, "v2", rpm=900.0), 12, 0.48,
                   seed=2, title="moderation saturates its CPU limit after a traffic surge"),
        node_problem("node-memory-pressure-chat-assistant", "chat-assistant", "assistants", chat, "ip-10-0-3-17",
                     "MemoryPressure", 19, title="Node ip-10-0-3-17 under memory pressure evicts chat-assistant pods"),
        node_problem("node-disk-pressure-translator-cascade", "translator", "localization", svc(*MISTRAL, "v11", rpm=210.0),
                     "ip-10-0-5-88", "DiskPressure", 26, seed=3, cascade=True,
                     title="translator 5xx: its pods on a node with disk pressure are evicted"),
        model_server("vllm-gpu-xid-79", "llama-server", "ml-serving", "xid", 10, seed=0,
                     title="GPU 0 on gpu-a100-1 fell off the bus (Xid 79); llama-server slows down"),
        model_server("vllm-gpu-memory-exhausted", "llama-server", "ml-serving", "gpu_memory", 17, seed=1,
                     title="llama-server runs out of GPU memory"),
        model_server("vllm-kv-cache-saturated", "llama-server", "ml-serving", "saturation", 23, seed=2,
                     title="llama-server KV cache full, requests queue"),
        model_server("support-copilot-latency-vllm-saturated", "llama-server", "ml-serving", "saturation", 14, seed=3,
                     caller="support-copilot", title="support-copilot latency alert: the vLLM server it calls is saturated"),
        stuck_pod("translator-one-pod-hung", "translator", "localization", svc(*MISTRAL, "v11", rpm=210.0), 11, seed=1,
                  title="One translator pod hangs on a deadlocked worker pool"),
    ]


def none_stories() -> list[Builder]:
    return [
        no_fault("flapping-latency-alert-search-ranker", "search-ranker", "search", svc(*COHERE, "v2", rpm=600.0),
                 "flapping", title="search-ranker latency alert flaps at its threshold"),
        no_fault("planned-deploy-went-fine-doc-qa", "doc-qa", "knowledge", svc(*OPENAI_41, "v21"), "planned_deploy",
                 seed=5, title="Planned doc-qa deploy: the replica alert fired mid-rollout, all is well"),
        no_fault("resolved-blip-chat-assistant", "chat-assistant", "assistants", svc(*OPENAI_4O, "v7", rpm=400.0),
                 "resolved_blip", seed=1, title="Resolved: a two-minute error blip on chat-assistant"),
        no_fault("low-traffic-error-ratio-night", "contract-review", "legal", svc(*SONNET, "v2"), "low_traffic", seed=2,
                 title="Two errors at 3 requests/minute trip contract-review's error-ratio alert"),
        no_fault("openai-status-minor-unrelated", "email-drafter", "growth", svc(*OPENAI_MINI, "v30", rpm=220.0),
                 "status_noise", seed=3, title="OpenAI status page shows a minor incident on an unrelated product"),
        no_fault("eval-score-normal-variance", "kb-answers", "knowledge", svc(*COHERE, "v14", evals={"relevance": 0.855}),
                 "eval_noise", seed=4, title="kb-answers relevance touches its threshold within normal variance"),
        no_fault("nightly-batch-spend", "summarizer", "prod", svc(*OPENAI_41, "v12", rpm=50.0), "batch_spend", seed=6,
                 title="The nightly batch job spends as planned"),
        no_fault("single-restart-after-drain", "meeting-notes", "workspace", svc(*HAIKU, "v6", rpm=150.0),
                 "single_restart", seed=7, title="One meeting-notes pod restarted once during a node drain"),
        no_fault("prompt-update-no-effect", "product-describer", "catalog", svc(*MISTRAL_SMALL, "v16", rpm=300.0),
                 "prompt_fine", seed=8, title="product-describer prompt v17 rolled out cleanly"),
        no_fault("indexer-throttled-by-design", "indexer", "search", svc(*COHERE, "v1", rpm=40.0), "benign_throttle",
                 seed=9, title="A low-priority indexer is CPU-throttled by design"),
    ]


CLOUDWATCH_GROUP = "/aws/containerinsights/prod-eks/application"
SHIPPED_TO_CLOUDWATCH = {
    # services whose container logs Fluent Bit ships to CloudWatch Logs: the bot finds them there, not in the pods
    "openai-quota-exhausted-email-drafter", "mistral-large-2402-retired", "openai-outage-via-litellm",
    "cohere-timeouts-embed", "translator-prompt-v12-missing-field", "anthropic-rate-limit-support-bot",
    "embedder-oom-leak", "ticket-router-crashloop-after-deploy",
}


def ship_to_cloudwatch(b: Builder) -> None:
    """Move a scenario's container logs to CloudWatch, as Fluent Bit names them (group, pod_namespace_container)."""
    for i, stream in enumerate(b.logs):
        if stream["source"] == "kubernetes":
            b.logs[i] = {"source": "cloudwatch", "group": CLOUDWATCH_GROUP,
                         "stream": f"{stream['pod']}_{stream['namespace']}_{stream['container']}",
                         "lines": stream["lines"]}
    b.tags.append("cloudwatch")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "'" if any(c in data for c in '{}:"#') or data.startswith(("-", "0")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def main() -> int:
    stories = {"prompt": prompt_stories(), "model": model_stories(), "provider": provider_stories(),
               "infra": infra_stories(), "none": none_stories(), "dependencies": dependency_stories()}
    if OUT.exists():
        shutil.rmtree(OUT)
    ids: set[str] = set()
    for folder, builders in stories.items():
        (OUT / folder).mkdir(parents=True)
        for b in builders:
            assert b.id not in ids, b.id
            ids.add(b.id)
            if b.id in SHIPPED_TO_CLOUDWATCH:
                ship_to_cloudwatch(b)
            text = yaml.dump(b.document(), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
            (OUT / folder / f"{b.id}.yaml").write_text(f"# {b.title}\n# Generated by evals/generate.py; edit there.\n"
                                                       + text)
    counts = {k: len(v) for k, v in stories.items()}
    cascades = sum("cascade" in b.tags for v in stories.values() for b in v)
    shipped = sum("cloudwatch" in b.tags for v in stories.values() for b in v)
    assert shipped == len(SHIPPED_TO_CLOUDWATCH), "an id in SHIPPED_TO_CLOUDWATCH does not exist"
    print(f"wrote {sum(counts.values())} scenarios {counts}, {cascades} cascades, {shipped} with CloudWatch logs, "
          f"to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
