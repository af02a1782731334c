"""When will a filesystem be full? A least-squares line through its stored use, honestly.

Only a series that grows, steadily (R² at least MIN_R2) and by at least FLAT_CHANGE_PCT over
the window, gets a date. Flat, shrinking, noisy or short series say so instead: a made-up
date is worse than none during an incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import mul
from typing import Literal

MIN_POINTS = 4
MIN_SPAN_S = 3600.0
FLAT_CHANGE_PCT = 1.0  # fitted change over the whole window below this: flat
MIN_R2 = 0.8
DAY = 86_400.0

Kind = Literal["growing", "flat", "shrinking", "noisy", "insufficient"]


@dataclass(frozen=True)
class Fit:
    """y = intercept + slope * x, and how well it explains the points."""

    slope: float
    intercept: float
    r2: float


@dataclass(frozen=True)
class Forecast:
    """The verdict on one filesystem's series."""

    host: str
    mount: str
    kind: Kind
    current_pct: float
    points: int
    window_s: float
    slope_pct_per_day: float = 0.0
    r2: float = 0.0
    full_in_s: float | None = None  # from `now`; only for growing series


def fit(points: Sequence[tuple[float, float]]) -> Fit:
    """Ordinary least squares over (x, y); R² is 1.0 for a perfectly flat series.

    Centred sums (stable for large x such as seconds), built with map/mul rather than
    generator expressions: a digest fits hundreds of series.
    """
    n = len(points)
    if n < 2:
        raise ValueError("a fit needs two points")
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = sum(xs) / n, sum(ys) / n
    dx = [x - mx for x in xs]
    dy = [y - my for y in ys]
    sxx = sum(map(mul, dx, dx))
    if sxx == 0:
        raise ValueError("all points at one instant")
    slope = sum(map(mul, dx, dy)) / sxx
    intercept = my - slope * mx
    ss_tot = sum(map(mul, dy, dy))
    res = [b - slope * a for a, b in zip(dx, dy, strict=True)]  # y - (intercept + slope * x)
    ss_res = sum(map(mul, res, res))
    r2 = 1.0 if ss_tot == 0 else max(0.0, 1.0 - ss_res / ss_tot)
    return Fit(slope, intercept, r2)


def forecast(
    host: str, mount: str, series: Sequence[tuple[datetime, float]], now: datetime
) -> Forecast:
    """Classify a (time, use %) series and, when it grows steadily, say when it hits 100%."""
    ordered = sorted(series)
    current = ordered[-1][1] if ordered else 0.0
    if len(ordered) < MIN_POINTS:
        return Forecast(host, mount, "insufficient", current, len(ordered), 0.0)
    t0 = ordered[0][0]
    pts = [((t - t0).total_seconds(), pct) for t, pct in ordered]
    span = pts[-1][0]
    if span < MIN_SPAN_S:
        return Forecast(host, mount, "insufficient", current, len(pts), span)
    f = fit(pts)
    per_day = f.slope * DAY
    base = Forecast(host, mount, "flat", current, len(pts), span, per_day, f.r2)
    if abs(f.slope * span) < FLAT_CHANGE_PCT:
        return base
    if f.r2 < MIN_R2:
        return _with(base, "noisy")
    if f.slope < 0:
        return _with(base, "shrinking")
    # Where the line crosses 100%, counted from now (the last point may be a while ago).
    x_full = (100.0 - f.intercept) / f.slope
    full_in = max(0.0, x_full - (now - t0).total_seconds())
    return Forecast(host, mount, "growing", current, len(pts), span, per_day, f.r2, full_in)


def _with(base: Forecast, kind: Kind) -> Forecast:
    return Forecast(
        base.host,
        base.mount,
        kind,
        base.current_pct,
        base.points,
        base.window_s,
        base.slope_pct_per_day,
        base.r2,
    )


def human(seconds: float) -> str:
    """`about 3 days`, `about 5 hours`, `about 2 weeks`, `over a year`."""
    if seconds <= 0:
        return "now"
    hours = seconds / 3600
    if hours < 1:
        return "under an hour"
    if hours < 36:
        return f"about {round(hours)} hour{'s' if round(hours) != 1 else ''}"
    days = seconds / DAY
    if days < 14:
        return f"about {round(days)} days"
    if days < 365:
        return f"about {round(days / 7)} weeks"
    return "over a year"


def _window(seconds: float) -> str:
    return f"{seconds / DAY:.1f} days" if seconds >= DAY else f"{seconds / 3600:.1f} hours"


def describe(f: Forecast) -> str:
    """One line: `/var 91%, full in about 3 days (fit over 6.0 days, 25 points, R² 0.97)`."""
    head = f"{f.mount} {f.current_pct:.0f}%"
    conf = f"fit over {_window(f.window_s)}, {f.points} points, R² {f.r2:.2f}"
    if f.kind == "growing" and f.full_in_s is not None:
        when = "full now" if f.full_in_s <= 0 else f"full in {human(f.full_in_s)}"
        return f"{head}, {when} (+{f.slope_pct_per_day:.2f}%/day; {conf})"
    if f.kind == "insufficient":
        return f"{head}: not enough history for a forecast ({f.points} points)"
    if f.kind == "noisy":
        return f"{head}: too noisy for a forecast ({conf})"
    if f.kind == "shrinking":
        return f"{head}: shrinking ({f.slope_pct_per_day:.2f}%/day; {conf})"
    return f"{head}: flat ({conf})"
