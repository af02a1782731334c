"""A digest as Slack messages: the summary in the channel, hosts and the chart in its thread."""

from __future__ import annotations

import base64

from bot.digests.build import Digest
from bot.render.blocks import Message, chunks, code_sections, context, escape, pack, section
from ssh_probes.redact import redact


def messages(digest: Digest, png: bytes | None) -> list[Message]:
    """Summary (counts, changes, DNS, forecasts), then host lines, then the PNG chart."""
    s = digest.schedule
    title = f"Digest {s.id}: {digest.counts()}"
    head = {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    when = f"{digest.slot:%Y-%m-%d %H:%M} UTC"
    blocks = [head, context(f"{when} · hosts={s.hosts} · {s.cron} {s.tz}")]
    if digest.first:
        blocks.append(section("First digest of this schedule: nothing earlier to compare with."))
    else:
        new = ", ".join(f"`{escape(c)}`" for c in digest.new) or "none"
        gone = ", ".join(f"`{escape(c)}`" for c in digest.resolved) or "none"
        blocks += [section(c) for c in chunks(f"*New since the last digest:* {new}")]
        blocks += [section(c) for c in chunks(f"*Resolved:* {gone}")]
    if s.domains or digest.dns:
        dns = "\n".join(f"• {escape(line)}" for line in digest.dns) or "none"
        blocks += [section(c) for c in chunks(f"*DNS changes:*\n{dns}")]
    if digest.fleet:
        groups = "\n".join(f"• {escape(line)}" for line in digest.fleet)
        blocks += [section(c) for c in chunks(f"*Groups:*\n{groups}")]
    forecasts = digest.forecast_lines() or ["no disk history stored"]
    text = "*Disk forecasts:*\n" + "\n".join(f"• {escape(line)}" for line in forecasts)
    blocks += [section(c) for c in chunks(text)]
    out = pack(title, blocks)  # the first goes to the channel, any overflow to its thread
    hosts = digest.host_lines() or ["no watched host matches"]
    out += pack(f"Digest {s.id}: hosts", code_sections("*Hosts*", hosts))
    if png is not None:
        out.append(
            {
                "file": {
                    "filename": f"digest-{s.id}-disk.png",
                    "title": f"Digest {s.id}: disk use over time",
                    "content_b64": base64.b64encode(png).decode("ascii"),
                }
            }
        )
    return [_redacted(m) for m in out]


def _redacted(message: Message) -> Message:
    if "text" in message:
        message["text"] = redact(message["text"])
    return message
