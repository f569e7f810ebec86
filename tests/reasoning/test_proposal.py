from agent.models import Diagnosis
from agent.reasoning.catalog import check_params
from agent.reasoning.proposal import fill, propose_from_runbook, render

DIAG = Diagnosis(status="diagnosed", domain="prompt", confidence=0.9, root_cause={"service": "summarizer"},
                 summary="prompt v13 broke JSON")
FACTS = {"service": "summarizer", "namespace": "prod", "prompt": "summarize", "prompt_version": "v13",
         "prompt_version_previous": "v12"}
ROLLBACK = {"action": "prompt.rollback", "params": {"namespace": "{namespace}", "service": "{service}",
                                                    "prompt": "{prompt}", "to_version": "{prompt_version_previous}"}}


def test_the_first_remediation_is_filled_from_the_root_cause() -> None:
    p = propose_from_runbook(DIAG, "prompt-format", [ROLLBACK, {"action": "notify.escalate",
                                                                 "params": {"reason": "x"}}], FACTS, "inc-1")
    assert p is not None
    assert p.action == "prompt.rollback"
    assert p.params == {"namespace": "prod", "service": "summarizer", "prompt": "summarize", "to_version": "v12"}
    assert p.target == "service:prod/summarizer" and p.runbook == "prompt-format"


def test_a_remediation_whose_required_fact_is_unknown_is_skipped_for_the_next() -> None:
    facts = {k: v for k, v in FACTS.items() if k != "prompt"}
    p = propose_from_runbook(DIAG, "rb", [ROLLBACK, {"action": "traffic.shed", "params": {
        "namespace": "{namespace}", "service": "{service}", "pause": True}}], facts, "inc-1")
    assert p is not None and p.action == "traffic.shed" and p.params["pause"] is True
    assert "prompt needs {prompt}" in p.reason


def test_a_rollback_does_not_need_the_event_to_name_the_previous_version() -> None:
    """The target comes from the routing adapter's history; the event's `from` is only a cross-check."""
    facts = {k: v for k, v in FACTS.items() if k != "prompt_version_previous"}
    p = propose_from_runbook(DIAG, "rb", [ROLLBACK], facts, "inc-1")
    assert p is not None and p.action == "prompt.rollback" and "to_version" not in p.params


def test_an_optional_parameter_without_a_fact_is_left_to_the_action_default() -> None:
    action, params, _ = fill([("provider.failover", {"namespace": "{namespace}", "service": "{service}",
                                                     "to_provider": "{fallback_provider}"})], FACTS)
    assert action == "provider.failover" and "to_provider" not in params


def test_domain_none_proposes_nothing_and_inconclusive_escalates() -> None:
    none = DIAG.model_copy(update={"domain": "none"})
    assert propose_from_runbook(none, "rb", [ROLLBACK], FACTS, "inc-1") is None
    unsure = Diagnosis(status="inconclusive", summary="two hypotheses too close")
    p = propose_from_runbook(unsure, "", [], {}, "inc-1")
    assert p is not None and p.action == "notify.escalate" and "too close" in p.params["reason"]


def test_a_runbook_action_outside_the_catalog_is_never_proposed() -> None:
    p = propose_from_runbook(DIAG, "rb", [{"action": "shell.exec", "params": {"cmd": "rm -rf /"}}], FACTS, "inc-1")
    assert p is not None and p.action == "notify.escalate" and "not a catalog action" in p.reason


def test_a_whole_placeholder_keeps_the_fact_type() -> None:
    assert render("{replicas}", {"replicas": 6}) == 6
    assert render("{namespace}/{service}", FACTS) == "prod/summarizer"


def test_catalog_parameter_contract() -> None:
    assert check_params("k8s.scale", {"namespace": "a", "kind": "Deployment", "name": "b", "replicas": 3}) == []
    assert check_params("k8s.scale", {"namespace": "a", "name": "b"})  # kind and replicas missing
    assert check_params("traffic.shed", {"namespace": "a", "service": "b"})  # needs a limit or pause
    assert check_params("k8s.cordon", {"node": "n1", "force": True})  # unknown parameter
