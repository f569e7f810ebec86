"""Search: typical alerts rank the right runbook first; the match part and the meaning combine as documented;
results say why; the reasoner can use a hit directly."""

from __future__ import annotations

import pytest

from agent.errors import NotFound
from agent.reasoning.proposal import fill, remediations_of
from agent.reasoning.runbooks import runbook_of
from tools.runbooks import ALERT_BONUS, LABEL_BONUS, RunbookIndex

# (alert name, summary as the alert would say it, extra labels, the runbook a responder needs)
TYPICAL: list[tuple[str, str, dict[str, str], str]] = [
    ("LLMOutputValidationFailures", "Output validation failures above 5% for summarizer", {},
     "prompt-output-format-broken"),
    ("KubeContainerOOMKilled", "Container app in pod prod/chat-6c9d8-x2k4q was OOMKilled", {}, "infra-oom-killed"),
    ("KubePodCrashLooping", "Pod prod/chat-6c9d8-x2k4q is in CrashLoopBackOff", {}, "infra-crash-loop"),
    ("CPUThrottlingHigh", "42% throttling of CPU in namespace prod for container app in pod ranker", {},
     "infra-cpu-throttling"),
    ("KubeNodeNotReady", "Node gpu-node-3 has been unready for more than 5 minutes", {"node": "gpu-node-3"},
     "infra-node-pressure"),
    ("GPUXidErrors", "GPU 0 on gpu-node-2 reports Xid 79", {}, "infra-gpu-xid-errors"),
    ("GPUMemoryExhausted", "GPU framebuffer 98% used on vllm-llama pods", {}, "infra-gpu-memory-exhausted"),
    ("VLLMKVCacheSaturated", "KV cache usage above 95% for llama-3-70b", {}, "infra-model-server-saturation"),
    ("KubeDeploymentReplicasMismatch",
     "Deployment prod/chat has not matched the expected number of replicas for 15 minutes", {},
     "infra-failed-rollout"),
    ("KubePodNotReady", "Pod prod/ranker-5f7-abcde has been in a non-ready state for longer than 15 minutes",
     {"pod": "ranker-5f7-abcde"}, "infra-pod-stuck"),
    ("LLMRateLimited", "More than 10% of calls to anthropic are rate limited (429)", {}, "provider-rate-limited"),
    ("LLMProviderDown", "openai returns 503 for 30% of calls from chat", {}, "provider-outage"),
    ("LLMHighLatency", "p95 latency of model calls for chat above 8s", {}, "provider-latency"),
    ("LLMQuotaExceeded", "insufficient_quota errors from openai for summarizer", {}, "provider-quota-exhausted"),
    ("LLMModelNotFound", "model gpt-4-0613 not found for classifier", {}, "provider-model-deprecated"),
    ("LLMAuthErrors", "401 invalid_api_key from mistral for tagger", {}, "provider-auth-errors"),
    ("LLMEvalScoreDrift", "Relevance of search-answers slowly declining over 5 days", {}, "model-drift-without-change"),
    ("LLMCostSpike", "Cost per request of chat doubled after switch to gpt-5", {}, "model-cost-jump-after-switch"),
    ("LLMFeedbackNegative", "Thumbs-down share of assistant above 30%", {}, "model-feedback-after-update"),
    ("LLMTokenUsageHigh", "Input tokens per request doubled for summarizer", {}, "prompt-token-bloat"),
    ("LLMSpendRunaway", "Spend of research-agent 10x usual, 40 model calls per request", {}, "prompt-agent-loop-spend"),
    ("LLMEvalScoreDrop", "Relevance of faq-bot dropped after prompt v8 went live", {}, "prompt-eval-regression"),
    ("LLMRefusalRateHigh", "Refusals above 8% for assistant after the system prompt change", {},
     "prompt-refusals-after-change"),
]

# Alerts whose text alone cannot tell the cause: the right runbook must still be among the first three.
AMBIGUOUS: list[tuple[str, str, dict[str, str], str]] = [
    ("LLMEvalScoreDrop", "Faithfulness score of support-bot fell below 0.7 after model update", {},
     "model-version-eval-regression"),
    ("LLMRefusalRateHigh", "Refusals above 8% for assistant since the model 2025-06 rollout", {},
     "model-refusals-rising"),
    ("LLMHighLatency", "chat got slower after switching to a reasoning model", {}, "model-latency-after-switch"),
    ("LLMHighErrorRate", "Error rate of model calls above 20% for chat", {}, "provider-outage"),
    ("LLMGuardrailBlocksHigh", "Injection guardrail blocks rose after prompt v9 of helpdesk went live",
     {"guardrail": "prompt_injection"}, "prompt-injection-guardrail"),
    ("LLMGuardrailBlocksHigh", "prompt_injection guardrail blocking 12 inputs/min: ignore all previous instructions",
     {"guardrail": "prompt_injection"}, "prompt-injection-wave"),
    ("LLMOutputValidationFailures", "invalid JSON from summarizer since the model upgrade", {},
     "model-output-format-regression"),
]

# What the offline reasoner asks (agent.reasoning.runbooks.query_for): domain, finding kinds and notes.
REASONER = [
    ("provider", "provider: provider outage; openai status page: major outage; error share 0.4", "provider-outage"),
    ("provider", "provider: rate limited; 35% of calls rate_limited", "provider-rate-limited"),
    ("prompt", "prompt: prompt format; prompt change v12 -> v13 40 min before onset; invalid_json failures",
     "prompt-output-format-broken"),
    ("prompt", "prompt: token bloat; input tokens per request 2.4x after prompt change", "prompt-token-bloat"),
    ("model", "model: eval score drop; model change 2025-04-14 -> 2025-08-07 before onset",
     "model-version-eval-regression"),
    ("infra", "infra: oom kills; container app OOMKilled 3 times", "infra-oom-killed"),
    ("infra", "infra: node pressure; node gpu-node-3 MemoryPressure true", "infra-node-pressure"),
    ("infra", "infra: gpu xid; Xid 79 on gpu-node-2", "infra-gpu-xid-errors"),
]


def search(index: RunbookIndex, alert: str, summary: str, labels: dict[str, str], k: int = 3) -> list[str]:
    hits = index.search(f"{alert}: {summary}", alert=alert, labels={"alertname": alert, **labels}, k=k)
    return [h.id for h in hits]


@pytest.mark.parametrize(("alert", "summary", "labels", "expected"), TYPICAL, ids=[t[3] for t in TYPICAL])
def test_a_typical_alert_ranks_its_runbook_first(index: RunbookIndex, alert: str, summary: str,
                                                 labels: dict[str, str], expected: str) -> None:
    assert search(index, alert, summary, labels)[0] == expected


@pytest.mark.parametrize(("alert", "summary", "labels", "expected"), AMBIGUOUS, ids=[t[3] for t in AMBIGUOUS])
def test_an_ambiguous_alert_keeps_the_right_runbook_in_the_top_three(
        index: RunbookIndex, alert: str, summary: str, labels: dict[str, str], expected: str) -> None:
    assert expected in search(index, alert, summary, labels)


@pytest.mark.parametrize(("domain", "query", "expected"), REASONER, ids=[r[2] for r in REASONER])
def test_a_reasoner_query_within_its_domain_ranks_the_runbook_first(
        index: RunbookIndex, domain: str, query: str, expected: str) -> None:
    hits = index.search(query, alert="SomeUnrelatedAlert", k=3, domain=domain)
    assert hits[0].id == expected
    assert {h.domain for h in hits} == {domain}


def test_the_score_is_similarity_plus_the_documented_bonuses(index: RunbookIndex) -> None:
    labels = {"alertname": "KubeNodeNotReady", "node": "gpu-node-3"}
    hit = index.search("node unready", labels=labels, k=1)[0]
    assert hit.id == "infra-node-pressure"
    assert hit.alert_match and hit.label_match
    assert hit.score == pytest.approx(hit.similarity + ALERT_BONUS + LABEL_BONUS)
    assert "alert KubeNodeNotReady matches" in hit.why and "labels node match" in hit.why
    assert "similarity" in hit.why


def test_the_alert_match_lifts_a_runbook_above_text_alone(index: RunbookIndex) -> None:
    query = "error rate up for chat"
    plain = [h.id for h in index.search(query, k=100)]
    matched = index.search(query, alert="LLMModelNotFound", k=3)
    assert matched[0].id == "provider-model-deprecated"
    assert plain.index("provider-model-deprecated") > 0
    assert matched[0].score - matched[0].similarity == pytest.approx(ALERT_BONUS)


def test_alert_names_match_as_globs_and_labels_as_full_regular_expressions(index: RunbookIndex) -> None:
    blocked = index.search("guardrail blocks", alert="LLMGuardrailBlocksHigh",
                           labels={"guardrail": "prompt_injection_v2"}, k=1)[0]
    assert blocked.id == "prompt-injection-guardrail" and blocked.label_match
    other = [h for h in index.search("guardrail blocks", alert="LLMGuardrailBlocksHigh",
                                     labels={"guardrail": "toxicity"}, k=100) if h.id == "prompt-injection-guardrail"]
    assert other and not other[0].label_match


def test_a_hit_feeds_the_reasoners_proposal_step(index: RunbookIndex) -> None:
    hit = index.search("output is not valid JSON after the prompt change", alert="LLMOutputValidationFailures",
                       k=1)[0]
    book = runbook_of(hit)
    facts = {"service": "summarizer", "namespace": "prod", "prompt": "summarize", "prompt_version": "v13",
             "prompt_version_previous": "v12"}
    assert fill(remediations_of(book), facts)[:2] == (
        "prompt.rollback", {"namespace": "prod", "service": "summarizer", "prompt": "summarize", "to_version": "v12"})


def test_get_returns_a_runbook_and_names_the_known_ids_otherwise(index: RunbookIndex) -> None:
    assert index.get("provider-outage").domain == "provider"
    with pytest.raises(NotFound, match="known: .*provider-outage"):
        index.get("no-such-runbook")


def test_k_limits_the_results_and_an_empty_query_ranks_by_match_alone(index: RunbookIndex) -> None:
    assert len(index.search("anything", k=5)) == 5
    hits = index.search("", alert="GPUXidErrors", k=2)
    assert hits[0].id == "infra-gpu-xid-errors" and hits[0].similarity == 0.0
