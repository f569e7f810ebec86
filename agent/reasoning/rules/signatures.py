"""Error signatures in logs: a few well-known texts that name their domain.

| pattern | domain | kind | weight |
|---|---|---|---|
| 429, rate limit, too many requests | provider | rate_limit | 1.5 |
| insufficient_quota, quota exceeded, budget exceeded | provider | quota | 2.0 |
| model ... deprecated / decommissioned / not found / does not exist | provider | deprecated_model | 2.5 |
| 502/503/504, overloaded, service unavailable (from the provider's API) | provider | provider_errors | 1.0 |
| CUDA out of memory, Xid | infra | gpu_memory / gpu_xid | 1.5 |
| OOMKilled, out of memory, MemoryError | infra | oom | 1.0 |
| JSON parse / schema validation failures | prompt | prompt_format | 0.5 |

Weights stay below the metric rules': a log line is a hint, the metrics say how much.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from agent.models import Domain
from agent.reasoning.findings import Finding, Situation
from agent.reasoning.rules import rule
from agent.reasoning.rules.provider import used_providers

PATTERNS: list[tuple[re.Pattern[str], Domain, str, float]] = [
    (re.compile(r"insufficient_quota|quota (?:exceeded|exhausted)|budget (?:exceeded|exhausted)", re.I),
     "provider", "quota", 2.0),
    (re.compile(r"model\S* .{0,60}(?:deprecated|decommissioned|not found|does not exist|retired)", re.I),
     "provider", "deprecated_model", 2.5),
    (re.compile(r"\b429\b|rate.?limit|too many requests", re.I), "provider", "rate_limit", 1.5),
    (re.compile(r"\b50[234]\b|overloaded|service unavailable|bad gateway", re.I), "provider", "provider_errors", 1.0),
    (re.compile(r"CUDA out of memory", re.I), "infra", "gpu_memory", 1.5),
    (re.compile(r"\bXid\b", re.I), "infra", "gpu_xid", 1.5),
    (re.compile(r"OOMKilled|out of memory|MemoryError", re.I), "infra", "oom", 1.0),
    (re.compile(r"JSONDecodeError|parse failed|invalid json|schema validation|Expecting (?:property|value)", re.I),
     "prompt", "prompt_format", 0.5),
]
LOG_TOOLS = ("log", "signature", "cloudwatch")
MODEL_NAME = re.compile(r"model\W{1,3}([A-Za-z0-9][\w.:-]*[A-Za-z0-9])")


def texts(data: Any) -> Iterator[str]:
    """The error texts of a log tool's answer: its signatures (and their examples), largest first."""
    if not isinstance(data, Mapping):
        return
    for signature in data.get("signatures") or []:
        if isinstance(signature, Mapping):
            yield str(signature.get("signature") or "")
            yield str(signature.get("example") or "")
        elif isinstance(signature, str):
            yield signature


@rule("error_signatures")
def error_signatures(situation: Situation) -> Iterator[Finding]:
    providers = sorted(used_providers(situation))
    seen: set[str] = set()
    for item in situation.ok():
        if not any(word in item.tool for word in LOG_TOOLS):
            continue
        for text in texts(item.data):
            for pattern, domain, kind, weight in PATTERNS:
                if kind in seen or not pattern.search(text):
                    continue
                if domain == "provider":
                    if len(providers) != 1:
                        continue  # a provider error with no provider to pin it on
                    entity = {"provider": providers[0]}
                    named = MODEL_NAME.search(text) if kind == "deprecated_model" else None
                    if named:
                        entity["model"] = named.group(1)
                else:
                    entity = {"service": situation.service, "namespace": situation.namespace}
                seen.add(kind)
                yield Finding("error_signatures", domain, kind, weight, {k: v for k, v in entity.items() if v},
                              (item.id,), f"logs say: {text.strip()[:120]}")
                break
