"""Render the history of the recorded figures (bench/results/*.json) as one PNG.

    .venv/bin/python -m bench.chart [--out bench/results/history.png]

One panel per benchmark, one line per figure, one point per recorded run (x: its date).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.record import RESULTS

Series = dict[str, float]


def _triage_lab(r: dict[str, Any]) -> Series:
    return {row["work"][:40]: row["median_s"] for row in r.get("rows", [])}


def _fleet(r: dict[str, Any]) -> Series:
    out = {}
    for row in r.get("rows", []):
        for tool in ("triagebot", "ssh", "ansible_shell", "ansible_raw"):
            if tool in row:
                out[f"{tool} {row['hosts']}h"] = row[tool]["median_s"]
    return out


def _dig(r: dict[str, Any]) -> Series:
    return {k: r[k]["median_s"] for k in ("in_process", "cli_process", "sequential_dig") if k in r}


def _http(r: dict[str, Any]) -> Series:
    return {
        f"{row['target']} max |diff|": max(abs(v) for k, v in row.items() if k.endswith("_diff_ms"))
        for row in r.get("rows", [])
    }


def _slack(r: dict[str, Any]) -> Series:
    out = {}
    for row in r.get("rows", []):
        out[f"{row['mode']} p50"] = row["p50_ms"]
        out[f"{row['mode']} p99"] = row["p99_ms"]
    return out


def _generic(r: dict[str, Any]) -> Series:
    """Any other benchmark: its top-level {"median_s"|"median_ms": ...} figures."""
    out = {}
    for key, value in r.items():
        if isinstance(value, dict):
            for unit in ("median_s", "median_ms"):
                if isinstance(value.get(unit), int | float):
                    out[f"{key} ({unit[-2:]})"] = float(value[unit])
    return out


PANELS: dict[str, tuple[str, Callable[[dict[str, Any]], Series]]] = {
    "triage_lab": ("triage_lab: median s", _triage_lab),
    "fleet": ("fleet: median s (triagebot vs ssh vs Ansible)", _fleet),
    "dig_bench": ("dig: median s", _dig),
    "http_bench": ("http vs curl -w: worst phase difference, ms", _http),
    "slack_ack": ("Slack ack latency, ms", _slack),
}


def render(out: Path) -> Path:
    """Draw every benchmark that has results; the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = []
    skip = {*PANELS, "fleet_profile"}  # a diagnosis, not a history of figures
    others = sorted(p.stem for p in RESULTS.glob("*.json") if p.stem not in skip)
    for name in [*PANELS, *others]:
        path = RESULTS / f"{name}.json"
        try:
            data = json.loads(path.read_text()) if path.exists() else []
        except ValueError:
            continue  # being written by a running benchmark
        history = data if isinstance(data, list) else [data]
        if history:
            present.append((name, history))
    if not present:
        raise SystemExit("no results in bench/results/ yet")
    fig, axes = plt.subplots(len(present), 1, figsize=(10, 3.2 * len(present)), squeeze=False)
    for ax, (name, history) in zip(axes[:, 0], present, strict=True):
        title, extract = PANELS.get(name, (f"{name}: medians", _generic))
        dates = [
            str(rec.get("at") or rec.get("when", "?"))[:16].replace("T", " ") for rec in history
        ]
        labels = sorted({k for rec in history for k in extract(rec)})
        for label in labels:
            points = [(i, extract(rec).get(label)) for i, rec in enumerate(history)]
            xs = [i for i, v in points if v is not None]
            ax.plot(xs, [v for _, v in points if v is not None], marker="o", label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(dates)), dates, fontsize=7)
        ax.set_yscale("log" if name == "fleet" else "linear")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=4, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def main() -> None:
    """Parse flags and render."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "history.png")
    print(f"wrote {render(parser.parse_args().out)}")


if __name__ == "__main__":
    main()
