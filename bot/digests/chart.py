"""A PNG chart of disk use over time (matplotlib's Agg canvas, no display, no pyplot)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime

MAX_LINES = 10


def disk_chart(series: Mapping[str, Sequence[tuple[datetime, float]]], title: str) -> bytes:
    """One line per `host mount` (the fullest MAX_LINES), use % against time; PNG bytes."""
    # Imported here: matplotlib costs ~0.3 s to import and only digests need it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fullest = sorted(series.items(), key=lambda kv: -max((p for _, p in kv[1]), default=0))
    for label, points in fullest[:MAX_LINES]:
        ordered = sorted(points)
        ax.plot([_days(t) for t, _ in ordered], [p for _, p in ordered], marker=".", label=label)
    ax.xaxis_date()
    ax.axhline(100, color="red", linewidth=0.8, linestyle="--")
    ax.set_ylim(0, 105)
    ax.set_ylabel("disk use %")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(loc="lower left", fontsize="small")
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _days(t: datetime) -> float:
    # Matplotlib's date numbers: days since 1970-01-01 UTC (its default epoch).
    return t.timestamp() / 86_400
