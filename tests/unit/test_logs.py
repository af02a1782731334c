"""bot.ops.logs: JSON and text lines, run context through tasks, secrets redacted everywhere."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.ops import logs

TOKEN = "xoxb-123456789012-abcdefghijklmnop"


@pytest.fixture(params=["json", "text"])
def capture(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO, logging.Logger]]:
    buf = io.StringIO()
    logger = logging.getLogger(f"triagebot.test_logs.{request.param}")
    handler = logs.make_handler(request.param, buf)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield request.param, buf, logger
    finally:
        logger.removeHandler(handler)


async def test_lines_of_a_run_carry_its_context_into_tasks(
    capture: tuple[str, io.StringIO, logging.Logger],
) -> None:
    fmt, buf, log = capture
    log.info("before")
    with logs.run_scope("http", ["https://u:hunter2@example.com/"], run_id="abc123"):

        async def probe() -> None:
            log.warning("probe says %s", TOKEN)

        await asyncio.create_task(probe())
        try:
            raise RuntimeError(f"boom with {TOKEN}")
        except RuntimeError:
            log.exception("failed")
    log.info("after", extra={"status": "ok", "duration_ms": 12})
    text = buf.getvalue()
    assert TOKEN not in text and "hunter2" not in text
    if fmt == "text":
        assert "probe says [REDACTED] [run_id=abc123 command=http" in text
        assert "after [status=ok duration_ms=12]" in text
        return
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    before, probe_line, failed, after = lines
    assert "run_id" not in before and "run_id" not in after
    assert probe_line["run_id"] == failed["run_id"] == "abc123"
    assert probe_line["command"] == "http"
    assert probe_line["target"] == "https://u:[REDACTED]@example.com/"
    assert probe_line["msg"] == "probe says [REDACTED]"
    assert "RuntimeError: boom with [REDACTED]" in failed["exc"]
    assert (after["status"], after["duration_ms"]) == ("ok", 12)


def test_run_ids_differ() -> None:
    with logs.run_scope("triage", ["local"]) as a, logs.run_scope("triage", ["local"]) as b:
        assert a != b
        assert logs.current()["run_id"] == b
    assert logs.current() == {}
