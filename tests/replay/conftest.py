"""Fixtures for the scenario format and the eval harness: a minimal valid scenario to vary."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

MINIMAL: dict[str, Any] = {
    "id": "summarizer-breaks-json",
    "title": "Prompt v13 breaks JSON",
    "alert": {"status": "firing", "alerts": [{
        "status": "firing", "startsAt": "-4m",
        "labels": {"alertname": "LLMOutputValidationFailures", "service": "summarizer", "namespace": "prod"},
        "annotations": {"summary": "Output validation failures above 5% for summarizer"}}]},
    "metrics": {"start": "-10m", "step": "1m", "series": [
        {"name": 'llm_output_validation_failures_total{service="summarizer",namespace="prod",prompt_version="v13"}',
         "values": "_x5 0+9x5"}]},
    "kubernetes": [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "summarizer", "namespace": "prod", "creationTimestamp": "-30d",
                     "labels": {"app": "summarizer"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "summarizer"}},
                 "template": {"metadata": {"labels": {"app": "summarizer"}},
                              "spec": {"containers": [{"name": "app", "image": "registry.local/summarizer:4.2.0",
                                                       "resources": {"limits": {"cpu": "500m"}}}]}}}}],
    "logs": [{"source": "kubernetes", "namespace": "prod", "pod": "summarizer-6c9d8-x2k4q", "container": "app",
              "lines": [{"at": "-3m", "text": "ERROR output parse failed"}]}],
    "changes": [{"at": "-40m", "kind": "prompt", "service": "summarizer", "namespace": "prod", "name": "summarize",
                 "from": "v12", "to": "v13", "actor": "ci"}],
    "expect": {"domain": "prompt", "root_cause": {"service": "summarizer", "prompt_version": "v13"},
               "remediation": {"accept": ["prompt.rollback"], "forbid": ["k8s.rollout_restart"]}},
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    def _write(doc: dict[str, Any], name: str = "s.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return _write
