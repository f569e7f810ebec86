"""The LLM reasoner, driven by scripted chat models (langchain-core's fakes), with real read-only tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool

from agent.models import Diagnosis, Hypothesis
from agent.reasoning.llm import LLMReasoner
from tests.reasoning.helpers import situation

OFFLINE = Diagnosis(
    status="diagnosed", domain="prompt", confidence=0.8, root_cause={"service": "summarizer", "prompt_version": "v13"},
    summary="prompt fault at service=summarizer", runbook="prompt-output-format",
    hypotheses=[Hypothesis(domain="prompt", cause="prompt v13 shipped 30 min before onset", score=3.5),
                Hypothesis(domain="provider", cause="openai errors", score=0.6)],
)
SITUATION = situation({"alertname": "LLMOutputValidationFailures", "service": "summarizer", "namespace": "prod"})
VERDICT = {
    "status": "diagnosed", "domain": "prompt", "confidence": 0.9,
    "root_cause": {"service": "summarizer", "namespace": "prod", "prompt_version": "v13"},
    "summary": "Prompt v13 breaks the JSON format.", "evidence": ["prometheus-1"], "runbook": "prompt-output-format",
    "action": "prompt.rollback",
    "params": {"namespace": "prod", "service": "summarizer", "prompt": "summarize", "to_version": "v12"},
}


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers the scripted messages in order; remembers what it was shown and which tools were bound."""

    seen: list[list[BaseMessage]] = []
    bound: list[str] = []

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        self.bound = [t.name for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen = [*self.seen, list(messages)]
        return super()._generate(messages, *args, **kwargs)


def submit(args: dict[str, Any], call_id: str = "s1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "submit_diagnosis", "args": args, "id": call_id}])


def call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def metrics_tool() -> StructuredTool:
    def prometheus_query(promql: str) -> str:
        """Evaluate PromQL at the investigation instant."""
        return '{"status": "ok", "data": [{"metric": {"prompt_version": "v13"}, "value": [0, "0.31"]}]}'

    return StructuredTool.from_function(prometheus_query)


async def test_a_tool_call_then_a_verdict_gives_the_llm_diagnosis_and_action() -> None:
    model = ScriptedChatModel(responses=[call("prometheus_query", {"promql": "rate(x[5m])"}, "c1"), submit(VERDICT)])
    outcome = await LLMReasoner(model, "fake:scripted", [metrics_tool()]).reason(SITUATION, OFFLINE)
    assert not outcome.fell_back
    assert outcome.diagnosis.reasoner == "llm:fake:scripted"
    assert outcome.diagnosis.domain == "prompt" and outcome.diagnosis.root_cause["prompt_version"] == "v13"
    assert outcome.action == {"action": "prompt.rollback", "params": VERDICT["params"],
                              "runbook": "prompt-output-format"}
    # the tool really ran and its answer reached the model
    tool_answers = [m for m in model.seen[-1] if isinstance(m, ToolMessage)]
    assert "0.31" in str(tool_answers[0].content)
    assert [(t["tool"], t["args"], t["known"]) for t in outcome.transcript] == [
        ("prometheus_query", {"promql": "rate(x[5m])"}, True)]


async def test_the_offline_hypotheses_are_given_as_context_and_only_read_only_tools_are_bound() -> None:
    model = ScriptedChatModel(responses=[submit(VERDICT)])
    await LLMReasoner(model, "fake:scripted", [metrics_tool()]).reason(SITUATION, OFFLINE)
    brief = str(model.seen[0][1].content)
    assert "prompt v13 shipped 30 min before onset" in brief and "openai errors" in brief
    assert model.bound == ["prometheus_query", "submit_diagnosis"]


async def test_an_action_outside_the_catalog_falls_back_to_the_offline_result() -> None:
    bad = {**VERDICT, "action": "k8s.delete_namespace", "params": {"namespace": "prod"}}
    model = ScriptedChatModel(responses=[submit(bad)])
    outcome = await LLMReasoner(model, "fake:scripted").reason(SITUATION, OFFLINE)
    assert outcome.fell_back and outcome.action is None
    assert outcome.diagnosis.domain == OFFLINE.domain and outcome.diagnosis.root_cause == OFFLINE.root_cause
    assert "k8s.delete_namespace" in outcome.diagnosis.summary and "offline" in outcome.diagnosis.summary
    assert outcome.diagnosis.reasoner.startswith("offline")


async def test_calling_an_action_as_a_tool_is_refused_and_runs_nothing() -> None:
    model = ScriptedChatModel(responses=[
        call("k8s.scale", {"namespace": "prod", "kind": "Deployment", "name": "x", "replicas": 0}, "c1"),
        submit(VERDICT)])
    outcome = await LLMReasoner(model, "fake:scripted", [metrics_tool()]).reason(SITUATION, OFFLINE)
    refusal = [m for m in model.seen[-1] if isinstance(m, ToolMessage)][0]
    assert "not an available tool" in str(refusal.content)
    assert outcome.transcript[0]["known"] is False
    assert not outcome.fell_back and outcome.action is not None and outcome.action["action"] == "prompt.rollback"


async def test_malformed_output_falls_back_and_says_so() -> None:
    model = ScriptedChatModel(responses=[AIMessage(content='{"status": "diagnosed", "domain": "prompt", oops}')])
    outcome = await LLMReasoner(model, "fake:scripted").reason(SITUATION, OFFLINE)
    assert outcome.fell_back
    assert "not valid JSON" in outcome.diagnosis.summary
    assert outcome.diagnosis.status == OFFLINE.status and outcome.diagnosis.domain == "prompt"


async def test_output_that_breaks_the_schema_falls_back() -> None:
    model = ScriptedChatModel(responses=[submit({**VERDICT, "domain": "database", "confidence": 7})])
    outcome = await LLMReasoner(model, "fake:scripted").reason(SITUATION, OFFLINE)
    assert outcome.fell_back and "output schema" in outcome.diagnosis.summary


async def test_a_plain_text_json_answer_is_accepted() -> None:
    import json

    model = ScriptedChatModel(responses=[AIMessage(content="Here it is:\n" + json.dumps(VERDICT))])
    outcome = await LLMReasoner(model, "fake:scripted").reason(SITUATION, OFFLINE)
    assert not outcome.fell_back and outcome.diagnosis.domain == "prompt"


async def test_the_loop_is_bounded() -> None:
    model = ScriptedChatModel(responses=[call("prometheus_query", {"promql": "up"}, "c1")])
    outcome = await LLMReasoner(model, "fake:scripted", [metrics_tool()], max_steps=3).reason(SITUATION, OFFLINE)
    assert outcome.fell_back and "no verdict after 3 rounds" in outcome.diagnosis.summary
    assert len(outcome.transcript) == 3


async def test_domain_none_may_not_change_anything() -> None:
    quiet = {**VERDICT, "domain": "none", "root_cause": {}}
    model = ScriptedChatModel(responses=[submit(quiet)])
    outcome = await LLMReasoner(model, "fake:scripted").reason(SITUATION, OFFLINE)
    assert outcome.fell_back and "proposes no change" in outcome.diagnosis.summary


async def test_a_failing_model_falls_back() -> None:
    class Broken(ScriptedChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("provider unreachable")

    outcome = await LLMReasoner(Broken(responses=[submit(VERDICT)]), "fake:broken").reason(SITUATION, OFFLINE)
    assert outcome.fell_back and "provider unreachable" in outcome.diagnosis.summary


def test_the_llm_setting_must_name_provider_and_model() -> None:
    import pytest

    from agent.errors import ConfigError
    from agent.reasoning.llm import build_chat_model

    with pytest.raises(ConfigError, match="provider:model"):
        build_chat_model("gpt-4.1")
    with pytest.raises(ConfigError, match="cannot build the chat model"):
        build_chat_model("no-such-provider:some-model")
