"""What changed between two runs, per kind of change: DNS answers and TTLs, TCP states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.runs.differs import dns_diff, dns_text
from bot.runs.history import diff
from bot.store.run_rows import PastRun
from commands.report import Report
from ssh_probes.checks.differs import connections_diff
from ssh_probes.model import ProbeResult


def q(*answers: tuple[str, str, int], aa: bool = False, rcode: str = "NOERROR") -> dict[str, Any]:
    """Facts of one dig query result (the shape commands.dig stores)."""
    return {
        "kind": "query",
        "rcode": rcode,
        "authoritative": aa,
        "answers": [
            {"name": "example.com", "type": t, "ttl": ttl, "value": v} for t, v, ttl in answers
        ],
    }


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        (q(("A", "192.0.2.1", 300)), q(("A", "192.0.2.1", 300)), {}),
        (
            q(("A", "192.0.2.1", 300)),
            q(("A", "192.0.2.1", 300), ("A", "192.0.2.2", 300)),
            {"added": ["A 192.0.2.2"]},
        ),
        (
            q(("A", "192.0.2.1", 300), ("A", "192.0.2.2", 300)),
            q(("A", "192.0.2.2", 300)),
            {"removed": ["A 192.0.2.1"]},
        ),
        (
            q(("A", "192.0.2.1", 300), aa=True),
            q(("A", "192.0.2.1", 60), aa=True),
            {"ttl": {"A 192.0.2.1": {"before": 300, "now": 60}}},
        ),
        # A recursive resolver's cache counts TTLs down: not a change.
        (q(("A", "192.0.2.1", 300)), q(("A", "192.0.2.1", 17)), {}),
        (
            q(("CNAME", "edge.cdn.example.", 60)),
            q(("A", "192.0.2.9", 60)),
            {"added": ["A 192.0.2.9"], "removed": ["CNAME edge.cdn.example."]},
        ),
        (
            q(("A", "192.0.2.1", 300)),
            q(rcode="NXDOMAIN"),
            {"removed": ["A 192.0.2.1"], "rcode": {"before": "NOERROR", "now": "NXDOMAIN"}},
        ),
        ({"kind": "ns-check", "answers": []}, {"kind": "ns-check"}, {}),
    ],
    ids=["same", "added", "removed", "ttl", "ttl-countdown", "cname-to-a", "nxdomain", "not-q"],
)
def test_dns_diff(before: dict[str, Any], now: dict[str, Any], expected: dict[str, Any]) -> None:
    assert dns_diff(before, now) == expected


def test_dns_text() -> None:
    change = {"added": ["A 192.0.2.2"], "removed": ["A 192.0.2.1"],
              "ttl": {"A 192.0.2.3": {"before": 300, "now": 60}}}  # fmt: skip
    assert dns_text("example.com", "dig:A@127.0.0.1:53", change) == (
        "example.com A@127.0.0.1:53: +A 192.0.2.2, -A 192.0.2.1, TTL of A 192.0.2.3 300 -> 60"
    )


def states(**counts: int) -> dict[str, Any]:
    return {"states": {k.replace("_", "-"): v for k, v in counts.items()}}


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        (states(ESTAB=41, TIME_WAIT=3), states(ESTAB=43, TIME_WAIT=2), {}),
        (
            states(ESTAB=40, TIME_WAIT=10),
            states(ESTAB=40, TIME_WAIT=1500),
            {"states": {"TIME-WAIT": {"before": 10, "now": 1500, "delta": 1490}}},
        ),
        (
            states(CLOSE_WAIT=30),
            states(CLOSE_WAIT=0),
            {"states": {"CLOSE-WAIT": {"before": 30, "now": 0, "delta": -30}}},
        ),
        (
            states(ESTAB=5),
            states(ESTAB=5, SYN_SENT=12),
            {"states": {"SYN-SENT": {"before": 0, "now": 12, "delta": 12}}},
        ),
        # 1000 -> 1100 is 10%: ordinary churn.
        (states(ESTAB=1000), states(ESTAB=1100), {}),
    ],
    ids=["jitter", "time-wait-storm", "close-wait-gone", "syn-sent-new", "churn"],
)
def test_connections_diff(
    before: dict[str, Any], now: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert connections_diff(before, now) == expected


def test_report_diff_uses_dig_and_connections_differs() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    past = PastRun(
        1, t0, "ok", frozenset(),
        {"dig:A@127.0.0.1:53": q(("A", "192.0.2.1", 300)), "connections": states(TIME_WAIT=0)},
    )  # fmt: skip
    report = Report(
        "dig", "example.com", "ok", t0, 5,
        results=(
            ProbeResult("dig:A@127.0.0.1:53", "local", True, q(("A", "192.0.2.7", 300))),
            ProbeResult("connections", "local", True, states(TIME_WAIT=2000)),
        ),
    )  # fmt: skip
    areas = diff(report, past).areas
    assert areas["dig:A@127.0.0.1:53"] == {"added": ["A 192.0.2.7"], "removed": ["A 192.0.2.1"]}
    assert areas["connections"]["states"]["TIME-WAIT"]["now"] == 2000
