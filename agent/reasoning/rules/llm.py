"""Rules: llm (filled in from the evidence tools)."""

from __future__ import annotations
