"""Benchmark: alert-to-first-post latency, for one alert at a time and under a storm.

Run from the repository root, as root (lab hosts are network namespaces with real sshd):

    .venv/bin/python -m bench.alerts_latency [--single 20] [--hosts 10] [--storm 500]

The served bot (HTTP, SQLite, real triage over real SSH to lab hosts) and the fake Slack Web
API of tests/slack_fixtures.py run in this process; Alertmanager is this process too, posting
version-4 payloads with a bearer token. Measured from sending the webhook to (a) the group's
summary message posted and (b) the routine's report posted in its thread. Single: one alert at
a time, each for a new group, after the previous one answered. Storm: `--storm` alerts for
`--hosts` hosts in groups of 10, all posted at once; the bounds decide how many routines run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from typing import Any

import aiohttp

from bench import record
from tests.lab.netns import Lab, LabHost
from tests.slack_fixtures import FakeSlack, fake_app, serve

TOKEN = "bench-alert-token"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`, in ms."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


def body(group: str, alerts: list[tuple[str, LabHost]]) -> bytes:
    return json.dumps({
        "version": "4", "groupKey": group, "receiver": "triagebot", "status": "firing",
        "alerts": [{"status": "firing", "fingerprint": fp,
                    "labels": {"alertname": "Bench", "instance": f"{h.name}:9100", "fp": fp},
                    "annotations": {"summary": "bench"}} for fp, h in alerts],
    }).encode()  # fmt: skip


async def fresh_store(db: str, hosts: list[LabHost]) -> Any:
    """A migrated store at `db` with every lab host registered."""
    from bot.store.db import Store
    from bot.store.hosts import HostRepo
    from commands.hosts import HostSpec

    store = Store(db)
    await store.upgrade()
    for h in hosts:
        await HostRepo(store).add(HostSpec(
            name=h.name, address=h.address, port=h.port, user=h.user, key_path=h.key_path,
            host_keys=(h.host_key_line,)))  # fmt: skip
    return store


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from bot.ops.serve import ALERT_DESK, web_app
    from bot.slack.app import Bot
    from bot.slack.posting import make_client
    from tests.slack_fixtures import test_settings

    fake = FakeSlack()
    fake_runner, fake.base = await serve(fake_app(fake))
    fake.url = fake.base + "api/"
    lab = Lab()
    tmp = tempfile.TemporaryDirectory()
    session = aiohttp.ClientSession()
    try:
        hosts = [lab.add_host() for _ in range(args.hosts)]
        db = f"sqlite+aiosqlite:///{tmp.name}/bench.db"
        store = await fresh_store(db, hosts)

        async def bot_with(interval_s: float) -> tuple[Any, str, Any]:
            settings = test_settings(
                fake, db, alerts_token=TOKEN, alerts_channel="C0BENCH",
                alerts_repeat_interval_s=interval_s, alerts_max_per_host_hour=1000,
                sample_window_s=1.0,
            )  # fmt: skip
            app = web_app(Bot(settings, store, make_client(settings)))
            runner, base = await serve(app)
            return runner, base, app[ALERT_DESK]

        async def post(base: str, data: bytes) -> float:
            sent = time.monotonic()
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            async with session.post(base + "alerts/alertmanager", data=data, headers=headers) as r:
                assert r.status == 200, await r.text()
            return sent

        def first(after: float, *, thread: bool) -> float | None:
            for call in fake.calls:
                if (
                    call.method == "chat.postMessage"
                    and call.at >= after
                    and (("thread_ts" in call.body) == thread)
                    and (not thread or call.body.get("text", "").startswith("Bench: the routine"))
                ):
                    return call.at
            return None

        # Single alerts: interval 0, so each one runs the routine.
        runner, base, desk = await bot_with(0)
        summary_lat, report_lat = [], []
        for i in range(args.single):
            mark = len(fake.calls)
            sent = await post(base, body(f"single-{i}", [(f"s{i}", hosts[i % len(hosts)])]))
            while True:
                await asyncio.sleep(0.01)
                calls = fake.calls[mark:]
                got = [c for c in calls if c.method == "chat.postMessage"]
                if any(c.body.get("text", "").startswith("Bench: the routine") for c in got):
                    break
            s = next(
                c.at for c in calls if c.method == "chat.postMessage" and "thread_ts" not in c.body
            )
            r = next(c.at for c in calls if c.body.get("text", "").startswith("Bench: the routine"))
            summary_lat.append(s - sent)
            report_lat.append(r - sent)
        await desk.settle()
        await runner.cleanup()

        # Storm: every alert posted at once, on a fresh database (no run yet in the last
        # interval); the default interval bounds the routines.
        await store.close()
        db = f"sqlite+aiosqlite:///{tmp.name}/storm.db"
        store = await fresh_store(db, hosts)
        runner, base, desk = await bot_with(600)
        mark = len(fake.calls)
        groups = [
            [(f"storm{g}-{i}", hosts[(g * 10 + i) % len(hosts)]) for i in range(10)]
            for g in range(args.storm // 10)
        ]
        t0 = time.monotonic()
        sends = await asyncio.gather(
            *(post(base, body(f"storm-{g}", a)) for g, a in enumerate(groups))
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            from bot.store.alerts import AlertRepo

            if not await AlertRepo(store).pending():
                break
            await asyncio.sleep(0.05)
        await desk.settle()
        total = time.monotonic() - t0
        calls = fake.calls[mark:]
        summaries = [
            c for c in calls if c.method == "chat.postMessage" and "thread_ts" not in c.body
        ]
        # Every webhook was sent at about the same moment: latency from the first send.
        storm_lat = [at - min(sends) for at in sorted(c.at for c in summaries)]
        from bot.store.alerts import AlertRepo

        outcomes = await AlertRepo(store).outcomes()
        await runner.cleanup()
        result = {
            "hosts": len(hosts),
            "single": {
                "alerts": args.single,
                "summary_p50_ms": pct(summary_lat, 50),
                "summary_p99_ms": pct(summary_lat, 99),
                "report_p50_ms": pct(report_lat, 50),
                "report_p99_ms": pct(report_lat, 99),
                "report_mean_ms": statistics.mean(report_lat) * 1000,
            },
            "storm": {
                "alerts": len(groups) * 10,
                "groups": len(groups),
                "summary_p50_ms": pct(storm_lat, 50),
                "summary_p99_ms": pct(storm_lat, 99),
                "all_handled_s": total,
                "outcomes": outcomes,
                "summaries_posted": len(summaries),
            },
            "loadavg": record.loadavg(),
            "busy": record.busy(),
        }
        await store.close()
        return result
    finally:
        await session.close()
        await fake_runner.cleanup()
        lab.close()
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--storm", type=int, default=500)
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, indent=2))
    print("recorded in", record.append("alerts_latency", result))
