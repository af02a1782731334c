"""Logging for the served bot: text or JSON lines, secrets redacted, run context on each line.

Every line logged while a command runs carries `run_id` (an id for this run in the logs,
generated when it starts: the stored run number only exists once the run is saved, and the
finish line names it as `run`), `command` and `target`. They come from a contextvar, so the
probes' tasks (which copy the context when they are created) carry them too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from ssh_probes.redact import redact

CONTEXT_FIELDS = ("run_id", "command", "target")
_run: ContextVar[dict[str, str] | None] = ContextVar("triagebot_run", default=None)
# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_run_id() -> str:
    """A short random id naming one run in the logs."""
    return secrets.token_hex(6)


def current() -> dict[str, str]:
    """The run context of the running code ({} outside a run)."""
    return dict(_run.get() or {})


@contextlib.contextmanager
def run_scope(command: str, words: Sequence[str], run_id: str | None = None) -> Iterator[str]:
    """Tag every line logged inside (and in tasks created inside) with this run; yields its id."""
    rid = run_id or new_run_id()
    # The target is user text (an http URL may carry a password): redacted before any use.
    target = redact(" ".join(words))[:200]
    token = _run.set({"run_id": rid, "command": command, "target": target})
    try:
        yield rid
    finally:
        _run.reset(token)


class RedactingFilter(logging.Filter):
    """Redacts every log line: Bolt logs request bodies (e.g. on a bad signature)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message with its redacted rendering."""
        record.msg, record.args = redact(record.getMessage()), None
        return True


class ContextFilter(logging.Filter):
    """Copies the run context onto the record (the formatters then show it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add run_id, command and target when a run is in progress."""
        for key, value in (_run.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return redact(value) if isinstance(value, str) else value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the run context and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (every string redacted)."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        line.update({k: _plain(v) for k, v in _extras(record).items()})
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger: message [run_id=... command=...]`, redacted as a whole."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The classic line plus the run context and extra fields as key=value."""
        text = super().format(record)
        extras = _extras(record)
        if extras:
            first, nl, rest = text.partition("\n")
            pairs = " ".join(f"{k}={v}" for k, v in extras.items())
            text = f"{first} [{pairs}]{nl}{rest}"
        return redact(text)


def make_handler(fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing `fmt` (text|json) lines to `stream` (stderr), context added, redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    return handler


def configure(level: str = "INFO", fmt: str = "text") -> logging.Handler:
    """Send every logger's lines to stderr in `fmt` at `level` (the only root handler)."""
    handler = make_handler(fmt)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
