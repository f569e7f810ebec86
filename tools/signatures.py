"""Error signatures: log lines grouped by their shape, so that a handful of signatures stand for thousands.

A line's signature is its text with the parts that vary masked: timestamps, UUIDs, hex ids, IP addresses,
identifiers with digits (pod names, request ids) and numbers. Only lines that look like errors or warnings
are grouped. JSON log lines are read by their level and message fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_SIGNATURES = 15
MAX_SOURCES = 5
MAX_TEXT = 300

_ERROR = re.compile(
    r"\b(?:error|err|exception|traceback|fatal|panic|critical|failed|failure|fail|refused|denied|"
    r"timed? ?out|timeout|unavailable|oom\w*|out of memory|killed|crash\w*|invalid|rejected)\b|"
    r"\b(?:status|code|http|response|returned|got)\W{0,3}(?:429|5\d\d)\b|"
    r"\b(?:429|5\d\d)\s+(?:too many|internal|bad gateway|service unavailable|gateway time)", re.I)
_WARNING = re.compile(r"\b(?:warn|warning|retry(?:ing)?|throttl\w*|rate.?limit\w*|deprecated|slow)\b", re.I)
_MASKS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<ts>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?:0x)?[0-9a-f]{10,}\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[\w-]*[a-z])(?=[\w-]*\d)[\w]+(?:-[\w]+){1,}\b", re.I), "<id>"),
    (re.compile(r"\b(?=\w*[a-z])(?=\w*\d)\w{12,}\b", re.I), "<id>"),
    (re.compile(r"(?<![\w<])\d+(?:\.\d+)?(?=(?:ms|us|ns|s|m|h|d|b|kb|mb|gb|kib|mib|gib|%)\b)", re.I), "<n>"),
    (re.compile(r"\b(?=\w*[a-z])\w*\d{3,}\w*\b", re.I), "<id>"),
    (re.compile(r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w>])", re.I), "<n>"),
]
_LEADING_TS = re.compile(r"^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*")


def text_of(line: str) -> str:
    """The message of a log line: JSON lines by their level and message fields, others as they are."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            record = json.loads(stripped)
        except ValueError:
            return stripped
        if isinstance(record, dict):
            level = str(record.get("level") or record.get("severity") or record.get("levelname") or "")
            message = str(record.get("msg") or record.get("message") or record.get("event") or "")
            error = str(record.get("error") or record.get("exc_info") or record.get("exception") or "")
            return " ".join(p for p in (level.upper(), message, error) if p) or stripped
    return stripped


def level_of(text: str) -> str | None:
    """`error`, `warning`, or None for a line that is neither."""
    if _ERROR.search(text):
        return "error"
    if _WARNING.search(text):
        return "warning"
    return None


def signature_of(text: str) -> str:
    masked = _LEADING_TS.sub("", text)
    for pattern, token in _MASKS:
        masked = pattern.sub(token, masked)
    return re.sub(r"\s+", " ", masked).strip()[:MAX_TEXT]


@dataclass
class Signature:
    signature: str
    level: str
    example: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sources: list[str] = field(default_factory=list)

    def add(self, at: datetime | None, source: str) -> None:
        self.count += 1
        if at is not None:
            self.first_seen = at if self.first_seen is None or at < self.first_seen else self.first_seen
            self.last_seen = at if self.last_seen is None or at > self.last_seen else self.last_seen
        if source and source not in self.sources and len(self.sources) < MAX_SOURCES:
            self.sources.append(source)

    def as_data(self) -> dict[str, Any]:
        return {"signature": self.signature, "count": self.count, "level": self.level,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "last_seen": self.last_seen.isoformat() if self.last_seen else None,
                "example": self.example, "sources": self.sources}


@dataclass
class Grouping:
    """Signatures of the error and warning lines seen, with how many lines were read and matched."""

    lines_read: int = 0
    lines_matched: int = 0
    by_signature: dict[str, Signature] = field(default_factory=dict)

    def add(self, at: datetime | None, line: str, source: str = "") -> None:
        self.lines_read += 1
        text = text_of(line)
        level = level_of(text)
        if level is None:
            return
        self.lines_matched += 1
        key = signature_of(text)
        found = self.by_signature.get(key)
        if found is None:
            found = self.by_signature[key] = Signature(key, level, text[:MAX_TEXT])
        found.add(at, source)

    def top(self, limit: int = MAX_SIGNATURES) -> tuple[list[dict[str, Any]], int]:
        """The `limit` largest signatures (errors before warnings at equal counts) and how many were left out."""
        ordered = sorted(self.by_signature.values(), key=lambda s: (-s.count, s.level != "error", s.signature))
        return [s.as_data() for s in ordered[:limit]], max(0, len(ordered) - limit)


def group(lines: Iterable[tuple[datetime | None, str, str]]) -> Grouping:
    """Group (time, line, source) triples into signatures."""
    grouping = Grouping()
    for at, line, source in lines:
        grouping.add(at, line, source)
    return grouping
