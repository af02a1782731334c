"""Block Kit for alerts: the group's summary (firing, then resolved) and thread lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.alerts.payload import Alert, Notification
from bot.render.blocks import Message, context, escape, section
from ssh_probes.redact import redact

SHOWN_LABELS = 8
SHOWN_ALERTS = 10


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "?"


def _lasted(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    minutes = max(0, int((end - start).total_seconds() // 60))
    return (
        f", lasted {minutes // 60} h {minutes % 60} min"
        if minutes >= 60
        else (f", lasted {minutes} min")
    )


def _labels(alert: Alert) -> str:
    shown = [f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname"]
    more = f" (+{len(shown) - SHOWN_LABELS})" if len(shown) > SHOWN_LABELS else ""
    return " ".join(f"`{escape(s[:80])}`" for s in shown[:SHOWN_LABELS]) + more


def _line(alert: Alert, resolved_at: datetime | None) -> str:
    mark = ":white_check_mark:" if resolved_at else ":rotating_light:"
    sev = f" ({escape(alert.severity)})" if alert.severity else ""
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    link = f" <{alert.generator_url}|source>" if alert.generator_url.startswith("http") else ""
    state = (
        f"resolved {_when(resolved_at)}{_lasted(alert.starts_at, resolved_at)}"
        if resolved_at
        else f"firing since {_when(alert.starts_at)}"
    )
    text = f"{mark} *{escape(alert.name)}*{sev} {state}{link}\n{_labels(alert)}"
    if summary:
        text += f"\n{escape(summary[:500])}"
    return redact(text)


def summary(note: Notification, resolved: Sequence[tuple[Alert, datetime | None]]) -> Message:
    """The group's message: each alert with its state; the header follows what still fires."""
    firing = sum(1 for _, at in resolved if at is None)
    names = sorted({a.name for a, _ in resolved})
    head = (
        f":rotating_light: {firing} firing: {', '.join(names)[:120]}"
        if firing
        else f":white_check_mark: resolved: {', '.join(names)[:120]}"
    )
    blocks = [section(f"*{escape(head)}*")]
    for alert, at in list(resolved)[:SHOWN_ALERTS]:
        blocks.append(section(_line(alert, at)))
    if len(resolved) > SHOWN_ALERTS:
        blocks.append(context(f"+{len(resolved) - SHOWN_ALERTS} more alerts in this group"))
    where = f"receiver `{escape(note.receiver)}` ({note.source})"
    if note.external_url.startswith("http"):
        where += f" <{note.external_url}|open>"
    blocks.append(context(where + "; the routine answers in the thread"))
    return {"text": redact(head), "blocks": blocks}


def line(text: str) -> Message:
    """One short thread reply (a repeat, a hint, a bound reached)."""
    clean = redact(text)
    return {"text": clean, "blocks": [section(escape(clean))]}
