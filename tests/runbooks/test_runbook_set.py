"""The shipped runbook set: enough of it, per domain, valid against the front matter model and the action catalog,
and usable by the reasoner's proposal step."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from agent.reasoning.catalog import ACTIONS, check_params
from agent.reasoning.proposal import fill, remediations_of
from tools.runbooks import DOMAINS, Runbook, load_runbooks
from tools.runbooks.model import PLACEHOLDER, REMEDIATION_PLACEHOLDERS, REQUIRED_SECTIONS, SIGNAL_PLACEHOLDERS

from .conftest import RUNBOOKS

BOOKS = load_runbooks(RUNBOOKS)

# DESIGN.md section 4: the metric names the default configuration (and scenarios) use.
CATALOG_METRICS = {
    "kube_pod_container_status_restarts_total", "kube_pod_container_status_last_terminated_reason",
    "kube_pod_container_status_waiting_reason", "kube_pod_status_phase", "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available", "kube_node_status_condition", "kube_pod_container_resource_limits",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total", "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_XID_ERRORS", "vllm:num_requests_running",
    "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:e2e_request_latency_seconds_bucket",
    "vllm:time_to_first_token_seconds_bucket", "vllm:request_success_total",
    "litellm_deployment_success_responses_total", "litellm_deployment_failure_responses_total",
    "litellm_deployment_state", "litellm_remaining_requests_metric", "litellm_spend_metric_total",
    "http_requests_total", "http_request_duration_seconds_bucket", "llm_requests_total",
    "llm_request_duration_seconds_bucket", "llm_tokens_total", "llm_cost_usd_total",
    "llm_output_validation_failures_total", "llm_eval_score", "llm_feedback_total", "llm_guardrail_blocks_total",
}
METRIC_TOKEN = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

# Facts the reasoner knows about a root cause of each domain (agent.reasoning: rules/changes.py, offline.py).
FACTS = {
    "infra": {"service": "chat", "namespace": "prod", "kind": "Deployment", "name": "chat", "pod": "chat-7d9-x2k4q",
              "node": "gpu-node-3"},
    "provider": {"service": "chat", "namespace": "prod", "provider": "openai"},
    "model": {"service": "chat", "namespace": "prod", "model": "gpt-4.1", "model_version": "2025-04-14",
              "model_version_previous": "2024-11-20"},
    "prompt": {"service": "chat", "namespace": "prod", "prompt": "answer", "prompt_version": "v13",
               "prompt_version_previous": "v12"},
}


def ids(books: list[Runbook]) -> list[str]:
    return [b.id for b in books]


def test_there_are_at_least_24_runbooks_and_5_per_domain() -> None:
    per_domain: Counter[str] = Counter(b.domain for b in BOOKS)
    assert len(BOOKS) >= 24
    assert all(per_domain[d] >= 5 for d in DOMAINS), per_domain


def test_runbook_ids_are_unique_and_match_their_file_names() -> None:
    assert len(set(ids(BOOKS))) == len(BOOKS)
    for book in BOOKS:
        assert book.path.endswith(f"/{book.id}.md"), f"{book.path} holds runbook {book.id}"


@pytest.mark.parametrize("book", BOOKS, ids=ids(BOOKS))
def test_every_remediation_is_a_catalog_action_with_the_contract_parameter_names(book: Runbook) -> None:
    for item in book.remediations:
        assert item.action in ACTIONS
        spec = ACTIONS[item.action]
        assert set(spec.required) <= set(item.params) <= set(spec.params), (item.action, item.params)
        for template in item.params.values():
            if isinstance(template, str):
                assert {m.group(1) for m in PLACEHOLDER.finditer(template)} <= set(REMEDIATION_PLACEHOLDERS)


@pytest.mark.parametrize("book", BOOKS, ids=ids(BOOKS))
def test_every_runbook_has_the_four_sections_and_its_queries_use_catalog_metrics(book: Runbook) -> None:
    for heading in REQUIRED_SECTIONS:
        assert len(book.section(heading)) > 80, f"{book.id}: section {heading} is too thin to help at 3 a.m."
    for signal in book.signals:
        tokens = set(METRIC_TOKEN.findall(signal.query))
        assert tokens & CATALOG_METRICS, f"{book.id}: signal {signal.name} uses no metric of DESIGN.md section 4"


@pytest.mark.parametrize("book", BOOKS, ids=ids(BOOKS))
def test_the_reasoner_can_fill_a_remediation_from_typical_root_cause_facts(book: Runbook) -> None:
    action, params, notes = fill(remediations_of(book), FACTS[book.domain])
    assert action, f"{book.id}: no remediation fills ({notes})"
    assert check_params(action, params) == []
    assert not [v for v in params.values() if isinstance(v, str) and PLACEHOLDER.search(v)], params


def test_changing_remediations_come_before_escalation_and_each_runbook_can_escalate() -> None:
    for book in BOOKS:
        actions = [r.action for r in book.remediations]
        assert actions[-1] == "notify.escalate", f"{book.id} should end with notify.escalate as a last resort"
    first = Counter(b.remediations[0].action for b in BOOKS)
    # the catalog is covered: every kind of action is some runbook's first choice
    assert {"k8s.rollout_restart", "k8s.scale", "k8s.rollback", "k8s.cordon", "k8s.delete_pod",
            "provider.failover", "model.rollback", "prompt.rollback"} <= set(first)


def test_prompt_and_model_runbooks_roll_back_to_the_previous_version() -> None:
    for book in BOOKS:
        for item in book.remediations:
            if item.action == "prompt.rollback":
                assert item.params["to_version"] == "{prompt_version_previous}", book.id
            if item.action == "model.rollback":
                assert item.params.get("to_version") == "{model_version_previous}", book.id


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_every_signal_query_is_valid_promql_for_promtool(tmp_path: Path) -> None:
    labels = {name: f"x-{name}" for name in SIGNAL_PLACEHOLDERS}
    rules = [{"record": f"runbook:{book.id.replace('-', '_')}:{signal.name}",
              "expr": PLACEHOLDER.sub(lambda m: labels[m.group(1)], signal.query)}
             for book in BOOKS for signal in book.signals]
    path = tmp_path / "signals.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "runbook-signals", "rules": rules}]}))
    checked = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout
