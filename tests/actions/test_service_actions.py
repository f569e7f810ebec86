"""provider.failover, model.rollback, prompt.rollback and traffic.shed through the ConfigMap routing adapter:
the preview shows before/after values and changes nothing; execute, check and revert act on the ConfigMap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.actions.kube_reactions import ClusterEmulator
from tools.actions import ActionError, Catalog

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
Cluster = tuple[ClusterEmulator, str]
SERVICE = {"namespace": "prod", "service": "chat"}


def routing(emulator: ClusterEmulator) -> dict[str, str]:
    cm = emulator.held("ConfigMap", "chat-llm-routing", "prod")
    assert cm is not None
    return dict(cm["data"])


CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("provider.failover", {}, {"provider": "anthropic"}),
    ("provider.failover", {"to_provider": "mistral"}, {"provider": "mistral"}),
    ("model.rollback", {}, {"model_version": "2024-11-20", "previous_model_version": "2025-04-14"}),
    ("prompt.rollback", {"prompt": "summarize"}, {"prompt.summarize": "v12", "previous_prompt.summarize": "v13"}),
    ("prompt.rollback", {"prompt": "summarize", "to_version": "v12"},
     {"prompt.summarize": "v12", "previous_prompt.summarize": "v13"}),
    ("traffic.shed", {"rate_limit_rps": 5}, {"rate_limit_rps": "5"}),
    ("traffic.shed", {"pause": True}, {"paused": "true"}),
]


@pytest.mark.parametrize(("name", "extra", "expected"), CASES)
def test_service_action_round_trip(cluster: Cluster, catalog: Catalog, name: str, extra: dict[str, Any],
                                   expected: dict[str, str]) -> None:
    emulator, _ = cluster
    original = routing(emulator)
    action = catalog.get(name)
    params = action.params({**SERVICE, **extra})
    preview = action.preview(params)
    assert {d["path"]: d["after"] for d in preview.diff} == expected
    assert routing(emulator) == original

    plan = action.plan(params, NOW)
    action.apply(plan)
    after = routing(emulator)
    assert {k: after.get(k) for k in expected} == expected
    assert action.applied(plan)
    assert action.check(plan).status == "ok"

    action.revert(plan)
    assert routing(emulator) == original


@pytest.mark.parametrize(("name", "extra", "key", "recorded"), [
    ("prompt.rollback", {"prompt": "summarize"}, "prompt.summarize", "v12"),
    ("model.rollback", {}, "model_version", "2024-11-20"),
])
def test_a_rollback_target_named_by_a_forged_event_is_reported_not_obeyed(
    cluster: Cluster, catalog: Catalog, name: str, extra: dict[str, Any], key: str, recorded: str
) -> None:
    emulator, _ = cluster
    action = catalog.get(name)
    params = action.params({**SERVICE, **extra, "to_version": "v0-attacker"})
    preview = action.preview(params)
    assert {d["path"]: d["after"] for d in preview.diff}[key] == recorded
    assert f"the evidence names v0-attacker as the previous version; the routing adapter records {recorded}" \
        in preview.summary
    action.apply(action.plan(params, NOW))
    assert routing(emulator)[key] == recorded
    assert "v0-attacker" not in routing(emulator).values()


def test_a_rollback_without_recorded_history_is_refused_whatever_the_event_says(
    cluster: Cluster, catalog: Catalog
) -> None:
    action = catalog.get("prompt.rollback")
    with pytest.raises(ActionError, match=r"records no previous_prompt.triage .*v0-attacker, which is not used"):
        action.preview(action.params({**SERVICE, "prompt": "triage", "to_version": "v0-attacker"}))


def test_failover_to_the_current_provider_is_refused(catalog: Catalog) -> None:
    action = catalog.get("provider.failover")
    with pytest.raises(ActionError, match="already routes to openai"):
        action.preview(action.params({**SERVICE, "to_provider": "openai"}))


def test_traffic_shed_needs_exactly_one_of_rate_or_pause(catalog: Catalog) -> None:
    action = catalog.get("traffic.shed")
    with pytest.raises(ActionError, match="exactly one"):
        action.params({**SERVICE, "rate_limit_rps": 3, "pause": True})
    with pytest.raises(ActionError, match="exactly one"):
        action.params(SERVICE)


def test_service_without_routing_configmap_is_a_clear_error(catalog: Catalog) -> None:
    action = catalog.get("model.rollback")
    with pytest.raises(ActionError, match="search-llm-routing does not exist"):
        action.preview(action.params({"namespace": "prod", "service": "search"}))


def test_check_fails_when_someone_changes_the_value_back(cluster: Cluster, catalog: Catalog) -> None:
    emulator, _ = cluster
    action = catalog.get("provider.failover")
    plan = action.plan(action.params(SERVICE), NOW)
    action.apply(plan)
    cm = emulator.held("ConfigMap", "chat-llm-routing", "prod")
    assert cm is not None
    cm["data"]["provider"] = "openai"
    emulator.hold(cm)
    assert action.check(plan).status == "failed"
