"""Shared by the benchmarks: the machine's description, appending records, printing tables."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def loadavg() -> float:
    """The 1-minute load average: how busy the shared machine was."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine() -> str:
    """Cores, CPU model and Python version, e.g. '2 cores (Intel Xeon ...), Python 3.11.7'."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def summary(times: Sequence[float]) -> dict[str, float]:
    """Median, min and max of a list of seconds."""
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
    }


def append(name: str, record: dict[str, Any]) -> Path:
    """Append `record` (date and machine added) to bench/results/NAME.json; its path."""
    out = RESULTS / f"{name}.json"
    full = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **record,
    }
    RESULTS.mkdir(exist_ok=True)
    history = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps([*history, full], indent=2) + "\n")
    return out


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of `columns` of `rows` (floats with 3 decimals)."""

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def busy(limit: int = 5) -> list[str]:
    """Other processes using CPU right now (ps %CPU, lifetime average): the machine's noise."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,pcpu=,args=", "--sort=-pcpu"], capture_output=True, text=True
    ).stdout
    rows = []
    for line in out.splitlines():
        pid, pcpu, cmd = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) >= 10:
            rows.append(f"{pcpu}% {cmd[:100]}")
    return rows[:limit]


def cli_env(**values: str) -> dict[str, str]:
    """The environment of a timed `triagebot` process: this one without TRIAGEBOT_* and
    SLACK_* settings and without PYTHONDONTWRITEBYTECODE (an installed package has its byte
    code compiled; the benches' warm-up run writes it, for the old tree too), plus `values`
    (TRIAGEBOT_DATABASE_URL...)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("TRIAGEBOT_", "SLACK_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(values)
    return env
