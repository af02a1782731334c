"""Block Kit building blocks within Slack's limits (pure).

A section holds at most 3,000 characters, a message at most 50 blocks and 40,000
characters; these helpers split text on line boundaries to stay inside them (`chunks`),
and where a summary must stay short, cut it with a visible ellipsis (`clip`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ssh_probes.redact import redact

Block = dict[str, Any]
# {"text", "blocks"}, or {"file": {"filename", "title", "content", "initial_comment"?}}
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_MESSAGE_CHARS = 40_000
MAX_HEADER_CHARS = 150
# The mark of a severity; None is "no warning or critical finding".
MARK = {
    "critical": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
    None: ":white_check_mark:",
}


def escape(text: str) -> str:
    """Slack mrkdwn escaping (&, <, >) after redaction: user-visible text is never raw."""
    return redact(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> Block:
    """One mrkdwn section; the caller keeps `text` within MAX_SECTION_CHARS."""
    assert len(text) <= MAX_SECTION_CHARS
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """A small grey line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}]}


def chunks(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Split on line boundaries into pieces of at most `limit` characters (long lines too)."""
    out: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out


def code_sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A bold title then the lines in code blocks, split to fit sections."""
    fence = 8  # "```\n" + "\n```"
    body = "\n".join(escape(line) for line in lines)
    pieces = chunks(body, MAX_SECTION_CHARS - fence - len(title) - 1)
    blocks = [section(f"{title}\n```{pieces[0]}```")]
    blocks += [section(f"```{p}```") for p in pieces[1:]]
    return blocks


def chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(str(text.get("text", "")))
    return sum(len(str(e.get("text", ""))) for e in block.get("elements", []))


def pack(text: str, blocks: Iterable[Block]) -> list[Message]:
    """Blocks -> as many messages as needed, each within MAX_BLOCKS and MAX_MESSAGE_CHARS."""
    messages: list[Message] = []
    current: list[Block] = []
    size = 0
    for block in blocks:
        n = chars(block)
        if current and (len(current) == MAX_BLOCKS or size + n > MAX_MESSAGE_CHARS):
            messages.append({"text": text, "blocks": current})
            current, size = [], 0
        current.append(block)
        size += n
    if current or not messages:
        messages.append({"text": text, "blocks": current})
    if len(messages) > 1:
        for i, message in enumerate(messages, 1):
            message["text"] = f"{text} ({i}/{len(messages)})"
    return messages


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, a visible ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fits(blocks: Sequence[Block]) -> bool:
    """True when the blocks make one message within Slack's limits."""
    sections_ok = all(
        len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in blocks if b["type"] == "section"
    )
    total = sum(chars(b) for b in blocks)
    return sections_ok and len(blocks) <= MAX_BLOCKS and total <= MAX_MESSAGE_CHARS
