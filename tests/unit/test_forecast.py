"""Disk forecasts on synthetic series with known answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.digests.forecast import DAY, describe, fit, forecast, human

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def series(
    values: list[float], step: timedelta = timedelta(hours=12)
) -> list[tuple[datetime, float]]:
    """Points ending at NOW, `step` apart."""
    n = len(values)
    return [(NOW - step * (n - 1 - i), v) for i, v in enumerate(values)]


def test_fit_recovers_a_line() -> None:
    f = fit([(x, 3.0 + 0.5 * x) for x in range(10)])
    assert f.slope == pytest.approx(0.5)
    assert f.intercept == pytest.approx(3.0)
    assert f.r2 == pytest.approx(1.0)


def test_linear_growth_has_a_known_full_date() -> None:
    # 80% to 90% over 5 days (2%/day, a point every 12 h): full 5 days after the last point.
    pts = series([80 + i for i in range(11)])
    f = forecast("web-1", "/var", pts, NOW)
    assert f.kind == "growing"
    assert f.slope_pct_per_day == pytest.approx(2.0)
    assert f.full_in_s == pytest.approx(5 * DAY)
    assert (f.points, f.window_s, round(f.r2, 6)) == (11, 5 * DAY, 1.0)
    text = describe(f)
    assert text.startswith("/var 90%, full in about 5 days")
    assert "fit over 5.0 days, 11 points, R² 1.00" in text


def test_full_date_counts_from_now_not_from_the_last_point() -> None:
    pts = series([80 + i for i in range(11)])
    f = forecast("web-1", "/var", pts, NOW + timedelta(days=2))
    assert f.full_in_s == pytest.approx(3 * DAY)


def test_flat_series_gets_no_date() -> None:
    f = forecast("web-1", "/", series([40.0, 40.2, 39.9, 40.1, 40.0, 40.1]), NOW)
    assert f.kind == "flat"
    assert f.full_in_s is None
    assert "flat" in describe(f) and "full in" not in describe(f)


def test_shrinking_series() -> None:
    f = forecast("web-1", "/data", series([70.0 - 1.5 * i for i in range(8)]), NOW)
    assert f.kind == "shrinking"
    assert f.slope_pct_per_day == pytest.approx(-3.0)
    assert f.full_in_s is None
    assert "shrinking (-3.00%/day" in describe(f)


def test_noisy_series_says_so() -> None:
    rng = random.Random(7)  # fixed seed: a known answer
    f = forecast("web-1", "/tmp", series([rng.uniform(20, 90) for _ in range(30)]), NOW)
    assert f.kind == "noisy"
    assert f.r2 < 0.8
    assert f.full_in_s is None
    assert "too noisy for a forecast" in describe(f)


@pytest.mark.parametrize(
    "pts",
    [[], series([50.0, 60.0, 70.0]), series([50.0, 51, 52, 53], step=timedelta(minutes=5))],
    ids=["none", "three-points", "ten-minutes"],
)
def test_too_little_history(pts: list[tuple[datetime, float]]) -> None:
    f = forecast("web-1", "/", pts, NOW)
    assert f.kind == "insufficient"
    assert "not enough history" in describe(f)


def test_already_past_full() -> None:
    f = forecast("web-1", "/var", series([90, 93, 96, 99, 99.5]), NOW + timedelta(days=3))
    assert f.kind == "growing" and f.full_in_s == 0.0
    assert "full now" in describe(f)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "now"),
        (1800, "under an hour"),
        (3 * 3600, "about 3 hours"),
        (3 * DAY, "about 3 days"),
        (21 * DAY, "about 3 weeks"),
        (400 * DAY, "over a year"),
    ],
)
def test_human(seconds: float, text: str) -> None:
    assert human(seconds) == text
