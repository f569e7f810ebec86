"""What an LLM proposal may target: the alerting workload, the offline root cause, or its own root cause inside
the alert's namespace — by namespace and service, workload, pod or node."""

from __future__ import annotations

import pytest

from agent.reasoning.binding import incident_scopes, refusal

LABELS = {"alertname": "ChatErrors", "namespace": "prod", "service": "chat"}
OFFLINE = {"service": "vector-db", "namespace": "data", "pod": "vector-db-0"}


@pytest.mark.parametrize(("action", "params", "llm_cause", "refused"), [
    ("k8s.scale", {"namespace": "prod", "kind": "Deployment", "name": "chat", "replicas": 4}, {}, ""),
    ("k8s.rollout_restart", {"namespace": "data", "kind": "StatefulSet", "name": "vector-db"}, {}, ""),
    ("k8s.delete_pod", {"namespace": "data", "pod": "vector-db-0"}, {}, ""),
    ("k8s.delete_pod", {"namespace": "prod", "pod": "chat-7d9f-x2"}, {}, ""),
    ("prompt.rollback", {"namespace": "prod", "service": "chat", "prompt": "p"}, {}, ""),
    ("notify.escalate", {"reason": "x"}, {}, ""),
    ("k8s.scale", {"namespace": "payments", "kind": "Deployment", "name": "billing", "replicas": 0}, {},
     "namespace 'payments'"),
    # the LLM's own root cause counts only inside the alert's namespace
    ("k8s.scale", {"namespace": "payments", "kind": "Deployment", "name": "billing", "replicas": 0},
     {"namespace": "payments", "service": "billing"}, "namespace 'payments'"),
    ("k8s.rollout_restart", {"namespace": "prod", "kind": "Deployment", "name": "gateway"},
     {"namespace": "prod", "service": "gateway"}, ""),
    ("k8s.rollout_restart", {"namespace": "prod", "kind": "Deployment", "name": "auth"}, {}, "name 'auth' in prod"),
    ("provider.failover", {"namespace": "prod", "service": "search"}, {}, "service 'search' in prod"),
    ("k8s.delete_pod", {"namespace": "prod", "pod": "auth-0"}, {}, "pod 'auth-0'"),
    ("k8s.cordon", {"node": "gpu-7"}, {}, "node 'gpu-7'"),
    ("k8s.cordon", {"node": "gpu-7"}, {"node": "gpu-7", "namespace": "prod"}, ""),
])
def test_a_proposal_stays_inside_the_incident(action: str, params: dict[str, object], llm_cause: dict[str, str],
                                              refused: str) -> None:
    reason = refusal(action, params, incident_scopes(LABELS, OFFLINE, llm_cause))
    assert (refused in reason) if refused else reason == ""
    assert bool(reason) == bool(refused)
