"""Benchmark: secret redaction of ordinary probe output (a busy host's `ps auxww`, ~177 KB).

    .venv/bin/python -m bench.redact_bench [--runs 200] [--label TEXT]

Redaction runs on every probe's output on the event loop, so its cost on output that holds no
secret (the common case) is what matters: the median of `--runs` calls on each file of
tests/fixtures/redact/ordinary/, and on the same text with one secret line appended (every
prefilter passes there, so every pattern scans the whole text).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import record
from ssh_probes.redact import redact

ORDINARY = Path(__file__).parent.parent / "tests" / "fixtures" / "redact" / "ordinary"
SECRET_LINE = (
    "app 1 env DB_PASS=hunter2 curl -u u:p https://u:p@h/?sig=x&token=y -H 'Cookie: a=b'\n"
)


def timed_ms(text: str, runs: int) -> dict[str, float]:
    """Median and min milliseconds of one redact() call on `text` (min: least disturbed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        redact(text)
        times.append(time.perf_counter() - start)
    s = record.summary(times)
    return {"median_ms": round(s["median_s"] * 1000, 3), "min_ms": round(s["min_s"] * 1000, 3)}


def main() -> None:
    """Measure each ordinary file, then the ps file with a secret line; append the record."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    load0 = record.loadavg()
    rows = []
    for path in sorted(ORDINARY.glob("*.txt")):
        text = path.read_text()
        rows.append({"file": path.name, "bytes": len(text), **timed_ms(text, args.runs)})
    ps = (ORDINARY / "ps-auxww-busy.txt").read_text()
    rows.append({"file": "ps + 1 secret line", "bytes": len(ps) + len(SECRET_LINE),
                 **timed_ms(ps + SECRET_LINE, args.runs)})  # fmt: skip
    out = record.append(
        "redact_bench",
        {"label": args.label, "runs": args.runs, "loadavg_before": load0,
         "loadavg_after": record.loadavg(), "rows": rows},
    )  # fmt: skip
    print(record.table(rows, ["file", "bytes", "median_ms", "min_ms"]))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
