"""The optional LLM reasoner: a bounded tool-calling loop that ends in a typed verdict.

    brief (alerts, changes, evidence digest, offline hypotheses)
      └─> model ⇄ read-only tools (at most `max_steps` rounds)
            └─> submit_diagnosis(LLMVerdict) ─> Diagnosis + proposed action

Only read-only tools and runbook search are bound (`bind_tools`); actions never are. The verdict is parsed
into the same `Diagnosis` and checked against the action catalog; a parse failure, an action outside the
catalog, a model error or running out of steps falls back to the offline result, and the diagnosis says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.models import Diagnosis
from agent.reasoning.findings import Situation
from agent.reasoning.prompts import SUBMIT_TOOL, brief, system_prompt
from agent.reasoning.verdict import LLMVerdict, Rejected, parse, to_diagnosis

log = logging.getLogger(__name__)

MAX_STEPS = 6
MAX_TOOL_OUTPUT = 4_000


def build_chat_model(spec: str) -> Any:
    """A LangChain chat model from a `provider:model` setting (e.g. `openai:gpt-4.1`), via init_chat_model.

    Called at the edge (clients are built once); raises ConfigError when the provider package is missing.
    """
    from langchain.chat_models import init_chat_model

    from agent.errors import ConfigError

    if ":" not in spec:
        raise ConfigError(f"llm setting {spec!r} must read provider:model, e.g. openai:gpt-4.1")
    try:
        return init_chat_model(spec, temperature=0)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot build the chat model {spec!r}: {exc}") from exc


def _submit(**kwargs: Any) -> str:
    return "received"


SUBMIT = StructuredTool.from_function(
    _submit, name=SUBMIT_TOOL, args_schema=LLMVerdict,
    description="Submit the final diagnosis and the first remediation. Call exactly once, at the end.",
)


@dataclass
class LLMOutcome:
    diagnosis: Diagnosis
    action: dict[str, Any] | None
    """{"action", "params", "runbook"} as the LLM proposed it (checked against the catalog), or None."""
    fell_back: bool
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """Tool calls made: name, args, output size (for the audit log)."""


class LLMReasoner:
    def __init__(self, model: Any, model_name: str, tools: Sequence[BaseTool] = (), max_steps: int = MAX_STEPS,
                 redact: Callable[[str], str] | None = None):
        self.redact = redact or (lambda text: text)
        """Runs over everything the model is shown (the brief and every tool answer): secrets never leave."""
        self.model = model
        self.model_name = model_name
        self.tools = {t.name: t for t in tools}
        self.max_steps = max_steps

    @property
    def actor(self) -> str:
        return f"llm:{self.model_name}"

    async def reason(self, situation: Situation, offline: Diagnosis) -> LLMOutcome:
        transcript: list[dict[str, Any]] = []
        try:
            verdict = await self._loop(situation, offline, transcript)
        except Rejected as exc:
            return self._fallback(offline, str(exc), transcript)
        except Exception as exc:  # a provider error must not take the incident down
            log.warning("LLM reasoner failed: %s: %s", type(exc).__name__, exc)
            return self._fallback(offline, f"the model call failed ({type(exc).__name__}: {exc})", transcript)
        diagnosis = to_diagnosis(verdict, self.model_name, offline)
        action = None
        if verdict.action is not None:
            action = {"action": verdict.action, "params": verdict.params, "runbook": verdict.runbook}
        return LLMOutcome(diagnosis, action, False, transcript)

    async def _loop(self, situation: Situation, offline: Diagnosis, transcript: list[dict[str, Any]]) -> LLMVerdict:
        bound = self.model.bind_tools([*self.tools.values(), SUBMIT])
        shown = self.redact(brief(situation, offline))
        messages: list[BaseMessage] = [SystemMessage(system_prompt()), HumanMessage(shown)]
        for _ in range(self.max_steps):
            reply = await bound.ainvoke(messages)
            if not isinstance(reply, AIMessage):
                raise Rejected(f"the model answered with {type(reply).__name__}, not a message")
            messages.append(reply)
            if not reply.tool_calls:
                return parse(reply.content if isinstance(reply.content, str) else json.dumps(reply.content))
            for call in reply.tool_calls:
                if call["name"] == SUBMIT_TOOL:
                    return parse(call["args"])
                messages.append(await self._call(call, transcript))
        raise Rejected(f"no verdict after {self.max_steps} rounds of tool calls")

    async def _call(self, call: Any, transcript: list[dict[str, Any]]) -> ToolMessage:
        name, args = call["name"], call.get("args") or {}
        call_id = call.get("id") or name
        tool = self.tools.get(name)
        if tool is None:
            output = (f"error: {name!r} is not an available tool. Available: {', '.join(self.tools) or 'none'}; "
                      f"you cannot run actions, only propose one through {SUBMIT_TOOL}.")
        else:
            try:
                output = str(await tool.ainvoke(args))
            except Exception as exc:
                output = f"error: {type(exc).__name__}: {exc}"
        transcript.append({"tool": name, "args": args, "chars": len(output), "known": tool is not None})
        return ToolMessage(self.redact(output)[:MAX_TOOL_OUTPUT], tool_call_id=call_id, name=name)

    def _fallback(self, offline: Diagnosis, why: str, transcript: list[dict[str, Any]]) -> LLMOutcome:
        note = f"LLM reasoner ({self.model_name}) output rejected: {why}. Falling back to the offline reasoner."
        log.info("%s", note)
        diagnosis = offline.model_copy(update={
            "summary": f"{offline.summary} [{note}]", "reasoner": f"offline (fallback from llm:{self.model_name})",
        })
        return LLMOutcome(diagnosis, None, True, transcript)
