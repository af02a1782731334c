"""Benchmark: the phase timings of `commands.http.run` vs `curl -w` on the same loopback targets.

Run from the repository root:

    .venv/bin/python -m bench.http_bench [--runs 20]

The servers of tests/http_fixtures.py run in a child process (so neither client shares an
event loop with them): plain HTTP on 127.0.0.1 reached as `localhost` (DNS from /etc/hosts,
as curl does it), TLS with a trustme certificate for test.example (pinned to 127.0.0.1 with
--resolve on both sides), and /slow, whose first byte comes after 0.5 s. Per phase (DNS,
connect, TLS, time to first byte, total) the median of ours minus curl's; target: within 10 ms.
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
from pathlib import Path
from typing import Any

from bench import record

PHASES = ("dns", "connect", "tls", "ttfb", "total")
CURL_FORMAT = (
    "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} "
    "%{time_starttransfer} %{time_total}"
)
TARGET_MS = 10.0


async def _serve(path: str) -> None:
    """Child process: start the servers, write their ports and CA, wait for SIGTERM."""
    import trustme

    from tests.http_fixtures import TLS_NAME, Server, _server_context

    ca = trustme.CA()
    ca_path = Path(path).with_suffix(".ca.pem")
    ca.cert_pem.write_to_path(str(ca_path))
    plain = await Server().start()
    tls = await Server(tls=_server_context(ca.issue_cert(TLS_NAME))).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    Path(path).write_text(json.dumps({"plain": plain.port, "tls": tls.port, "ca": str(ca_path)}))
    await stop.wait()
    await plain.close()
    await tls.close()


def targets(info: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(label, url, extra words: the --resolve pin) of each target."""
    pin = ["--resolve", f"test.example:{info['tls']}:127.0.0.1"]
    return [
        ("plain /ok", f"http://localhost:{info['plain']}/ok", []),
        ("plain /slow", f"http://localhost:{info['plain']}/slow", []),
        ("tls /ok", f"https://test.example:{info['tls']}/ok", pin),
        ("tls /slow", f"https://test.example:{info['tls']}/slow", pin),
    ]


def ours(url: str, extra: list[str], ca: str) -> dict[str, float]:
    """One `http.run`; its first hop's phases in ms (a pinned name's DNS is 0, as curl's)."""
    from commands import http

    report = asyncio.run(http.run(http.parse([url, *extra]), http.HttpOptions(ca_file=ca)))
    facts = report.results[0].facts
    if facts.get("outcome") != "response" or facts.get("status") != 200:
        raise RuntimeError(f"{url}: {facts.get('outcome')} {facts.get('detail')}")
    t = facts["hops"][0]["timings"]
    return {
        "dns": t["dns_ms"] or 0.0,
        "connect": t["connect_ms"],
        "tls": t["tls_ms"] or 0.0,
        "ttfb": t["ttfb_ms"],
        "total": t["total_ms"],
    }


def curl(url: str, extra: list[str], ca: str) -> dict[str, float]:
    """One `curl -w`; the same phases in ms, from curl's cumulative times."""
    argv = ["curl", "-sS", "-o", "/dev/null", "--cacert", ca, "-w", CURL_FORMAT, *extra, url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    lookup, connect, app, pre, start, total = (float(x) * 1000 for x in out.split())
    return {
        "dns": lookup,
        "connect": connect - lookup,
        "tls": app - connect if app else 0.0,
        "ttfb": start - pre,
        "total": total,
    }


def measure(info: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    """Per target: warm-up, then `runs` alternating pairs; medians and differences."""
    rows = []
    for label, url, extra in targets(info):
        ours(url, extra, info["ca"])
        curl(url, extra, info["ca"])
        pairs = [(ours(url, extra, info["ca"]), curl(url, extra, info["ca"])) for _ in range(runs)]
        row: dict[str, Any] = {"target": label}
        for p in PHASES:
            row[f"{p}_ours_ms"] = statistics.median(o[p] for o, _ in pairs)
            row[f"{p}_curl_ms"] = statistics.median(c[p] for _, c in pairs)
            row[f"{p}_diff_ms"] = statistics.median(o[p] - c[p] for o, c in pairs)
        row["within_target"] = all(abs(row[f"{p}_diff_ms"]) <= TARGET_MS for p in PHASES)
        rows.append(row)
    return rows


def main() -> None:
    """Start the servers in a child process, measure, stop them, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    load0, busy0 = record.loadavg(), record.busy()
    with tempfile.TemporaryDirectory(prefix="tbl-bench-http-") as tmp:
        info_path = Path(tmp) / "servers.json"
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.http_bench", "--serve", str(info_path)]
        )
        try:
            for _ in range(200):
                if info_path.exists() and info_path.read_text():
                    break
                if child.poll() is not None:
                    raise RuntimeError("the server process exited")
                time.sleep(0.05)
            rows = measure(json.loads(info_path.read_text()), args.runs)
        finally:
            child.terminate()
            child.wait(timeout=10)
    out = record.append(
        "http_bench",
        {"parameters": {"runs": args.runs, "target_ms": TARGET_MS},
         "loadavg_before": load0, "loadavg_after": record.loadavg(), "busy_before": busy0,
         "rows": rows},
    )  # fmt: skip
    table = [
        {"target": r["target"], "phase": p, "ours_ms": r[f"{p}_ours_ms"],
         "curl_ms": r[f"{p}_curl_ms"], "diff_ms": r[f"{p}_diff_ms"]}
        for r in rows for p in PHASES
    ]  # fmt: skip
    print(record.table(table, ["target", "phase", "ours_ms", "curl_ms", "diff_ms"]))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
