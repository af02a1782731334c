"""Benchmark: Slack ack latency at 20 commands/s (HTTP mode and Socket Mode).

Run from the repository root:

    .venv/bin/python -m bench.slack_ack [--duration 60] [--rate 20] [--modes http socket summary]

The bot runs in a child process (Bolt app, SQLite store, the fake Slack Web API of
tests/slack_fixtures.py as its Slack); this process is Slack: it serves that fake Web API (and,
for Socket Mode, the websocket) and sends signed `/triage local` commands on a fixed schedule.
Latency is from sending a command to receiving its ack (HTTP response, or the envelope ack on
the websocket). Each command really runs in the background (the `load` and `disk` probes on
`local`, stored, then posted to the fake), so acks compete with that work. Mode `summary`
(issue 18): the bot warm, one `/triage local` at a time with every default probe and the 1 s
sample window; the time from sending the command to its summary posted to the fake. Mode
`summary-ssh`: the same for a registered lab host over real SSH (own PID namespace, real
sshd; as root), through the bot's own `triage` command: a fresh connection per command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp

from bench import record
from ssh_probes.probes import DEFAULT_PROBES
from tests.slack_fixtures import FakeSlack, command_body, fake_app, serve, signed_headers

TARGET_P99_MS = 50.0


async def _bot(cfg: dict[str, Any]) -> None:
    """Child process: the bot in HTTP or Socket Mode until SIGTERM; writes its port."""
    from bot.ops.serve import web_app
    from bot.slack.app import Bot
    from bot.slack.posting import make_client
    from bot.store.db import Store
    from tests.slack_fixtures import fast_triage, test_settings

    store = Store(cfg["db"])
    await store.upgrade()
    if cfg.get("host"):
        from bot.store.hosts import HostRepo
        from commands.hosts import HostSpec

        h = cfg["host"]
        await HostRepo(store).add(
            HostSpec(h["name"], h["address"], key_path=h["key"], host_keys=(h["host_key"],))
        )
    socket = cfg["mode"] == "socket"
    extra = {"slack_signing_secret": None, "slack_app_token": "xapp-1-fake"} if socket else {}
    extra["sample_window_s"] = cfg.get("window", 0.1)
    settings = test_settings(FakeSlack(url=cfg["fake_url"]), cfg["db"], **extra)
    # summary-ssh: the registry's own `triage` (every default probe, the bot's settings)
    commands = {} if cfg.get("host") else {"triage": fast_triage(tuple(cfg["probes"]))}
    bot = Bot(settings, store, make_client(settings), commands=commands)
    runner, base = await serve(web_app(bot, events=not socket))
    handler = None
    if socket:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bot.app, "xapp-1-fake", web_client=bot.client)
        await handler.connect_async()  # type: ignore[no-untyped-call]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    Path(cfg["ready"]).write_text(base)
    await stop.wait()
    if handler is not None:
        await handler.close_async()  # type: ignore[no-untyped-call]
    await runner.cleanup()  # waits for the background work (bot.drain)
    await store.close()


class TimedAcks(list[dict[str, Any]]):
    """FakeSlack.socket_acks that also notes when each envelope's ack arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[str, float] = {}

    def append(self, item: dict[str, Any]) -> None:
        """Record the arrival time, then keep the ack as the fake does."""
        self.at[str(item.get("envelope_id"))] = time.perf_counter()
        super().append(item)


async def _paced(count: int, rate: float, one: Any) -> list[Any]:
    """Start one(i) at t0 + i/rate for i < count (fixed schedule, not closed loop)."""
    t0, tasks = time.perf_counter(), []
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    return list(await asyncio.gather(*tasks))


async def http_load(base: str, count: int, rate: float) -> list[float]:
    """Signed slash commands POSTed to /slack/events; each one's ack latency in ms."""
    async with aiohttp.ClientSession() as session:

        async def one(_i: int) -> float:
            body = command_body("local")
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            headers.update(signed_headers(body))
            t = time.perf_counter()
            async with session.post(base + "slack/events", data=body, headers=headers) as resp:
                text = await resp.text()
            ms = (time.perf_counter() - t) * 1000
            if resp.status != 200 or "Working on it" not in text:
                raise RuntimeError(f"bad ack {resp.status}: {text[:200]}")
            return ms

        return await _paced(count, rate, one)


async def socket_load(fake: FakeSlack, acks: TimedAcks, count: int, rate: float) -> list[float]:
    """Envelopes sent on the bot's websocket; each one's ack latency in ms."""
    for _ in range(500):
        if fake.sockets:
            break
        await asyncio.sleep(0.02)
    sock = fake.sockets[0]

    async def one(i: int) -> float:
        payload = dict(urllib.parse.parse_qsl(command_body("local"), keep_blank_values=True))
        env = {"envelope_id": f"env-{i}", "type": "slash_commands",
               "accepts_response_payload": True, "payload": payload}  # fmt: skip
        t = time.perf_counter()
        await sock.send_json(env)
        while env["envelope_id"] not in acks.at:
            await asyncio.sleep(0.001)
        return (acks.at[str(env["envelope_id"])] - t) * 1000

    return await _paced(count, rate, one)


async def summary_load(base: str, fake: FakeSlack, count: int, host: str) -> list[float]:
    """One signed `/triage HOST` at a time; ms from sending it to its summary posted."""
    out = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count + 1):  # the first one warms the bot (imports, connections)
            posted = len(fake.summaries())
            body = command_body(host)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            headers.update(signed_headers(body))
            t = time.perf_counter()
            async with session.post(base + "slack/events", data=body, headers=headers) as resp:
                await resp.text()
            while len(fake.summaries()) == posted:
                await asyncio.sleep(0.002)
            out.append((time.perf_counter() - t) * 1000)
    return out[1:]


async def run_mode(
    mode: str, args: argparse.Namespace, tmp: Path, host: dict[str, str] | None = None
) -> dict[str, Any]:
    """One mode: fake Slack here, the bot in a child, the load; latencies and answers."""
    fake, acks = FakeSlack(), TimedAcks()
    fake.socket_acks = acks
    runner, base = await serve(fake_app(fake))
    fake.base, fake.url = base, base + "api/"
    ready = tmp / f"{mode}.ready"
    # summary modes: the bot in HTTP mode, every default probe, 1 s window
    summary = mode.startswith("summary")
    probes = list(DEFAULT_PROBES) if summary else args.probes.split(",")
    cfg = {"mode": "http" if summary else mode, "fake_url": fake.url,
           "db": f"sqlite+aiosqlite:///{tmp}/{mode}.db", "probes": probes, "ready": str(ready),
           "window": 1.0 if summary else args.window,
           "host": host if mode == "summary-ssh" else None}  # fmt: skip
    child = subprocess.Popen([sys.executable, "-m", "bench.slack_ack", "--bot", json.dumps(cfg)])
    count = args.summary_runs if summary else int(args.duration * args.rate)
    try:
        while not ready.exists() or not ready.read_text():
            if child.poll() is not None:
                raise RuntimeError("the bot process exited")
            await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        if summary:
            name = host["name"] if host and mode == "summary-ssh" else "local"
            ms = await summary_load(ready.read_text(), fake, count, name)
            count += 1
        elif mode == "http":
            ms = await http_load(ready.read_text(), count, args.rate)
        else:
            ms = await socket_load(fake, acks, count, args.rate)
        sent_s = time.perf_counter() - t0
        deadline = time.monotonic() + 120
        while len(fake.summaries()) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        answered_s = time.perf_counter() - t0
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.to_thread(child.wait, 60)
        for sock in fake.sockets:
            await sock.close()
        await runner.cleanup()
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"mode": mode, "commands": count, "sent_in_s": sent_s, "p50_ms": statistics.median(ms),
            "p90_ms": q[89], "p99_ms": q[98], "max_ms": max(ms), "mean_ms": statistics.mean(ms),
            "answered": len(fake.summaries()), "all_answered_after_s": answered_s,
            "p99_within_target": q[98] < TARGET_P99_MS}  # fmt: skip


def main() -> None:
    """Parse flags, run each mode, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--modes", nargs="+", default=["http", "socket"])
    parser.add_argument("--probes", default="load,disk", help="what each /triage local runs")
    parser.add_argument(
        "--window",
        type=float,
        default=0.1,
        help="the bot's sample window (stat with --probes load,stat,disk: "
        "0.5 s at 20/s keeps ~10 triages in flight)",
    )
    parser.add_argument(
        "--summary-runs", type=int, default=20, help="mode `summary`: commands sent one at a time"
    )
    parser.add_argument("--bot", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bot:
        asyncio.run(_bot(json.loads(args.bot)))
        return
    load0, busy0 = record.loadavg(), record.busy()
    rows = []
    lab, host = None, None
    if "summary-ssh" in args.modes:
        from tests.lab.netns import Lab

        lab = Lab()
        h = lab.add_host(own_pids=True)
        host = {"name": h.name, "address": h.address, "key": h.key_path,
                "host_key": h.host_key_line}  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="tbl-bench-slack-") as tmp:
            for mode in args.modes:
                rows.append(asyncio.run(run_mode(mode, args, Path(tmp), host)))
    finally:
        if lab is not None:
            lab.close()
    out = record.append(
        "slack_ack",
        {"parameters": {"duration_s": args.duration, "rate_per_s": args.rate,
                        "command": "/triage local (summary-ssh: /triage LABHOST)",
                        "probes": args.probes.split(","),
                        "window_s": args.window, "summary_runs": args.summary_runs},
         "loadavg_before": load0, "loadavg_after": record.loadavg(), "busy_before": busy0,
         "rows": rows},
    )  # fmt: skip
    cols = ["mode", "commands", "p50_ms", "p99_ms", "max_ms", "answered"]
    print(record.table(rows, cols))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
