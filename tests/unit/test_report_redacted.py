"""Reports say how many secrets were hidden: the count, --json, Slack summary, terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from bot.render.blocks import summary
from bot.render.terminal import headline
from commands.report import Report
from ssh_probes.model import Finding, ProbeResult

JSON_KEYS = {"command", "target", "status", "started_at", "duration_ms", "run_id",
             "findings", "results", "changes"}  # fmt: skip


def report(
    *,
    facts: dict[str, object],
    evidence: dict[str, object],
    counted: int = 0,
    title: str = "upstream answered 502",
) -> Report:
    return Report(
        command="http",
        target="https://api.internal/",
        status="ok",
        started_at=datetime.now(UTC),
        duration_ms=5,
        findings=(Finding("http.5xx", "warning", title, evidence=evidence),),
        results=(ProbeResult("fetch", "local", True, facts, redacted=counted),),
    )


def test_scrubbed_redacts_facts_and_evidence_and_counts_them() -> None:
    raw = report(
        facts={"url": "https://u:pw-in-url@api.internal/", "headers": {"cookie": "sid=c00k1e"}},
        evidence={"seen": ["APP_KEY=ev1d3nce"], "n": 3},
        title="upstream DB_PASS=f1nd1ng failed",
        counted=2,  # what the runner already hid from this result
    )
    clean = raw.scrubbed()
    text = repr(clean.as_dict())
    for secret in ("pw-in-url", "c00k1e", "ev1d3nce", "f1nd1ng"):
        assert secret not in text
    assert clean.results[0].redacted == 2 + 2
    assert clean.findings_redacted == 2
    assert clean.redacted == 6
    assert clean.findings[0].evidence["n"] == 3
    assert clean.scrubbed().redacted == 6  # a second pass finds nothing more


def test_json_keeps_its_fields_and_adds_the_count() -> None:
    out = report(facts={"token": "t0k3n-value"}, evidence={}).scrubbed().as_dict()
    assert JSON_KEYS <= set(out)
    assert out["redacted"] == 1
    assert out["results"][0]["redacted"] == 1


def test_slack_summary_says_how_many_were_hidden() -> None:
    clean = report(facts={"a": "DB_PASS=x1", "b": "SMTP_PASS=x2"}, evidence={}).scrubbed()
    blocks = summary(clean)["blocks"]
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any("2 secrets hidden" in t for t in contexts), contexts
    quiet = summary(report(facts={"a": "b"}, evidence={}).scrubbed())["blocks"]
    assert not [b for b in quiet if "hidden" in str(b)]


def test_terminal_headline_says_how_many_were_hidden() -> None:
    console = Console(width=200, record=True)
    console.print(headline(report(facts={"a": "DB_PASS=x1"}, evidence={}).scrubbed()))
    assert "1 secret hidden" in console.export_text()
