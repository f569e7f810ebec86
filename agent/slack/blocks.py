"""Block Kit primitives that cannot break Slack's limits.

Every builder clips what it is given: a section's text stays within 3,000 characters (Slack counts UTF-16 code
units, so an emoji counts twice), a header within 150, a message within 50 blocks. User-supplied text is
escaped (`&`, `<`, `>`) before it is clipped, and clipping never cuts an escape in half. `check_limits` is the
last guard before anything is sent.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_FALLBACK = 3000
"""The plain-text fallback (notifications, screen readers); Slack allows 40,000 but nobody reads that."""


def units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape the three characters mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int, note: str = "…") -> str:
    """`text` cut to at most `limit` UTF-16 units, ending with `note` when something was cut.

    A cut never splits an `&amp;`-style escape. `note` may mention how much was left out: `{n}` is replaced by
    the number of characters removed.
    """
    if units(text) <= limit:
        return text
    budget = limit - units(note.replace("{n}", str(len(text))))
    out: list[str] = []
    used = 0
    for ch in text:
        size = units(ch)
        if used + size > budget:
            break
        out.append(ch)
        used += size
    kept = "".join(out)
    amp = kept.rfind("&")
    if amp != -1 and ";" not in kept[amp:]:
        kept = kept[:amp]
    return kept + note.replace("{n}", str(len(text) - len(kept)))


def mrkdwn(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text or " ", limit)}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text or " ", limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def section(text: str, *, block_id: str = "") -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def fields(pairs: list[tuple[str, str]]) -> Block:
    items = [mrkdwn(f"*{escape(k)}*\n{v}", MAX_FIELD) for k, v in pairs[:MAX_FIELDS]]
    return {"type": "section", "fields": items}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS] if t] or [mrkdwn(" ")]}


def divider() -> Block:
    return {"type": "divider"}


def code(text: str, limit: int = MAX_TEXT, note: str = "\n… ({n} more characters cut)") -> str:
    """A code block whose content is clipped so that the fences always close."""
    fence = "```"
    return fence + clip(escape(text).replace(fence, "ˋˋˋ"), limit - 2 * len(fence), note) + fence


def button(text: str, action_id: str, value: str, style: str = "") -> Block:
    element: Block = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id,
                      "value": value}
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id[:255], "elements": list(elements)}


def fit(blocks: list[Block], note: str = "More in `opsmedic show`; this message hit Slack's 50-block limit.") -> list[
    Block
]:
    """At most 50 blocks: when more were built, keep the first 48, a note, and the last one (the buttons)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 2], context(note), blocks[-1]]


def fallback(text: str) -> str:
    return clip(text, MAX_FALLBACK)


def check_limits(blocks: list[Block]) -> list[str]:
    """Every way `blocks` breaks a Block Kit limit opsmedic relies on; [] when Slack will accept them."""
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (at most {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        texts: list[tuple[str, int]] = []
        if kind == "header":
            texts.append((block["text"]["text"], MAX_HEADER))
        elif kind == "section":
            if "text" in block:
                texts.append((block["text"]["text"], MAX_TEXT))
            if len(block.get("fields", [])) > MAX_FIELDS:
                problems.append(f"block {i}: more than {MAX_FIELDS} fields")
            texts += [(f["text"], MAX_FIELD) for f in block.get("fields", [])]
            if "text" not in block and not block.get("fields"):
                problems.append(f"block {i}: empty section")
        elif kind == "context":
            if not 1 <= len(block.get("elements", [])) <= MAX_CONTEXT_ELEMENTS:
                problems.append(f"block {i}: context needs 1 to {MAX_CONTEXT_ELEMENTS} elements")
            texts += [(e["text"], MAX_TEXT) for e in block.get("elements", [])]
        elif kind == "actions":
            for e in block.get("elements", []):
                texts.append((e["text"]["text"], MAX_BUTTON_TEXT))
                value = e.get("value", "")
                if len(value) > 64 or not value.replace("-", "").replace(":", "").isalnum():
                    problems.append(f"block {i}: button value {value[:20]!r}… is not an opaque id")
        for text, limit in texts:
            if not 1 <= units(text) <= limit:
                problems.append(f"block {i} ({kind}): text of {units(text)} units (1 to {limit})")
    return problems
