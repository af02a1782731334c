"""Graceful shutdown of `triagebot start` (HTTP mode) as a real process receiving SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.store.db import Store
from bot.store.models import FindingRow, ProbeResultRow, RunRow
from tests.slack_fixtures import (
    BOT_TOKEN,
    OPEN_POLICY,
    SECRET,
    FakeSlack,
    command_body,
    signed_headers,
)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_bot(
    fake: FakeSlack, db: str, port: int, grace_s: float
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    env.update(
        TRIAGEBOT_DATABASE_URL=db,
        TRIAGEBOT_PORT=str(port),
        TRIAGEBOT_SLACK_API_URL=fake.url,
        TRIAGEBOT_SLACK_CHANNEL_INTERVAL_S="0",
        TRIAGEBOT_SAMPLE_WINDOW_S="3",  # the run is still going when SIGTERM comes
        TRIAGEBOT_SHUTDOWN_GRACE_S=str(grace_s),
        TRIAGEBOT_LOG_FORMAT="json",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        TRIAGEBOT_POLICY_FILE=str(OPEN_POLICY),  # Slack modes are closed without one
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "start", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_healthy(
    session: aiohttp.ClientSession, base: str, proc: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.returncode is None, "the bot exited while starting"
        try:
            async with session.get(base + "healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not serve /healthz")


async def post_command(session: aiohttp.ClientSession, base: str, text: str) -> tuple[int, str]:
    body = command_body(text)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(body)}
    async with session.post(base + "slack/events", data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def stored_runs(db: str) -> list[tuple[int, str, str, int, int]]:
    """(id, status, error, probe results, findings) of every stored run."""
    store = Store(db)
    try:
        async with store.session() as session:
            runs = (await session.execute(select(RunRow.id, RunRow.status, RunRow.error))).all()
            out = []
            for run_id, status, error in runs:
                results = await session.scalar(
                    select(func.count())
                    .select_from(ProbeResultRow)
                    .where(ProbeResultRow.run_id == run_id)
                )
                findings = await session.scalar(
                    select(func.count()).select_from(FindingRow).where(FindingRow.run_id == run_id)
                )
                out.append((run_id, status, error, int(results or 0), int(findings or 0)))
            return out
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("grace_s", "expected"),
    [(30.0, "finished"), (0.3, "interrupted")],
    ids=["run-finishes-in-grace", "run-interrupted-after-grace"],
)
async def test_sigterm_during_a_run(
    fake_slack: FakeSlack, tmp_path: Path, grace_s: float, expected: str
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    proc = await start_bot(fake_slack, db, port, grace_s)
    lines: list[str] = []
    started = asyncio.Event()

    async def read_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            lines.append(raw.decode())
            if '"command started"' in lines[-1]:
                started.set()

    reader = asyncio.create_task(read_stderr())
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(session, base, proc)
            status, body = await post_command(session, base, "local")
            assert status == 200 and "Working on it" in body
            # Stop once the run has started (its 3 s CPU sample is then under way).
            await asyncio.wait_for(started.wait(), timeout=30)
            proc.send_signal(signal.SIGTERM)
            if expected == "finished":
                # Draining: not ready, and new commands are turned away while the run goes on.
                async def refused() -> bool:
                    async with session.get(base + "readyz") as resp:
                        ready = resp.status
                    return ready == 503 and (await post_command(session, base, "local"))[0] == 503

                deadline = time.monotonic() + 10
                while not await refused():
                    assert time.monotonic() < deadline, "readyz/events never turned 503"
                    await asyncio.sleep(0.05)
        code = await asyncio.wait_for(proc.wait(), timeout=grace_s + 30)
        await asyncio.wait_for(reader, timeout=10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        reader.cancel()
    stderr = "".join(lines)
    assert code == 0, stderr[-2000:]
    runs = await stored_runs(db)
    assert len(runs) == 1, runs
    [(_, status, error, results, findings)] = runs
    if expected == "finished":
        assert status in ("ok", "partial", "failed")
        assert results > 0  # the whole run: its probe results came with it
        assert fake_slack.summaries(), "the report was posted before exiting"
    else:
        assert status == "interrupted"
        assert "shut down" in error
        assert (results, findings) == (0, 0)  # nothing half-written
        notes = [b.get("text", "") for b in fake_slack.ok("chat.postEphemeral")]
        assert any("interrupted" in n for n in notes), notes
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    finished = [x for x in lines if x["msg"].startswith("command finished")]
    assert [x["status"] for x in finished] == [status if expected == "finished" else "interrupted"]
    assert any(x["msg"] == "stopped" for x in lines)
