"""The catalog is the contract: every code has an entry, every entry is emitted, docs agree.

Rule inputs recorded from real runs (tests/fixtures/rules, see its README) are replayed through
the DNS rules, the HTTP verdict and the host rules: each must give the codes it gave then, every
emitted code must be catalogued, and every catalogued code must be emitted by some input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.console import to_argv
from commands.dns import rules as dns_rules
from commands.fleet.compare import Member, compare
from commands.help import explain
from commands.knowledge.catalog import CATALOG, COMMAND_CODES, entry
from commands.web import verdict
from commands.web.request import HttpOptions, HttpRequest, Pin
from ssh_probes import errors
from ssh_probes.errors import InputError
from ssh_probes.model import Finding, HostTarget
from ssh_probes.rules import RULES, Thresholds
from ssh_probes.rules.unreachable import unreachable

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "fixtures" / "rules").glob("*.json"))
# Codes no rule emits yet, each with the issue that brings its rule.
NOT_YET_EMITTED: dict[str, str] = {}


def _request(d: dict[str, Any]) -> HttpRequest:
    return HttpRequest(**{**d, "pins": tuple(Pin(**p) for p in d.get("pins", ()))})


def _member(d: dict[str, Any]) -> Member:
    return Member(d["name"], d["facts"], unreachable=d["unreachable"])


def replay(case: dict[str, Any]) -> list[Finding]:
    """Run the rule the case was recorded from on its recorded input."""
    kind, name = case["fn"].split(".", 1)
    if kind == "fleet":
        return compare(
            _member(case["host"]),
            [_member(m) for m in case["members"]],
            case["group"],
            Thresholds(**case["thresholds"]),
        )
    if kind == "host":
        host = HostTarget(
            **{
                **case["host"],
                "host_keys": tuple(case["host"]["host_keys"]),
                "expect_ports": tuple(case["host"]["expect_ports"]),
                "logs": tuple(case["host"]["logs"]),
            }
        )
        extra = {**case["extra"], name: case["facts"]}
        return list(RULES[name](case["facts"], host, Thresholds(**case["thresholds"]), extra))
    if kind == "dns":
        return list(dns_rules.RULES[name](case["facts"]))
    if name == "findings":
        facts, host, req, opts = case["args"]
        return verdict.findings(facts, host, _request(req), HttpOptions(**opts))
    local, remote, host, req = case["args"]
    return verdict.compare(local, remote, host, _request(req))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_recorded_input_gives_the_recorded_codes(path: Path) -> None:
    case = load(path)
    found = sorted([code, sev] for code, sev in {(f.code, f.severity) for f in replay(case)})
    assert found == sorted(case["codes"]), case["source"]


def unreachable_findings() -> Iterator[Finding]:
    host = HostTarget(name="web-1", address="198.18.0.2")
    for cls in (
        errors.ConnectRefused,
        errors.ConnectTimeout,
        errors.AuthFailed,
        errors.HostKeyMismatch,
        errors.ExecutorError,
    ):
        exc = cls(host.name, "what the executor said")
        yield unreachable(host, exc.code, exc.detail, connect_timeout_s=5.0)


def test_every_catalogued_code_is_emitted_and_every_emitted_code_catalogued() -> None:
    emitted = {f.code for path in CASES for f in replay(load(path))}
    emitted |= {f.code for f in unreachable_findings()}
    assert emitted <= set(CATALOG), emitted - set(CATALOG)
    never = set(CATALOG) - emitted
    assert never == set(NOT_YET_EMITTED), never
    for code in CATALOG.values():
        assert code.title and code.why and code.fix, code.code
        assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9_]+", code.code), code.code


def test_unreachable_host_advice_is_specific_per_code() -> None:
    found = {f.code: f for f in unreachable_findings()}
    assert set(found) == {
        "ssh.refused", "ssh.timeout", "ssh.auth_failed", "ssh.hostkey_mismatch", "ssh.error"
    }  # fmt: skip
    assert "nc -vz -w 5 198.18.0.2 22" in found["ssh.timeout"].suggestion
    assert "ssh-keyscan" in found["ssh.hostkey_mismatch"].suggestion
    assert all(f.severity == "critical" and f.host == "web-1" for f in found.values())


def readme_codes() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Finding codes") :]
    section = section[: section.index("\n## ", 4)]
    return set(re.findall(r"^\| `([a-z0-9]+\.[a-z0-9_]+)` \|", section, re.M))


def test_readme_lists_exactly_the_catalog() -> None:
    assert readme_codes() == set(CATALOG)


def test_help_prints_an_entry_and_refuses_an_unknown_code_in_one_line() -> None:
    assert explain("DISK.full").startswith("disk.full (host): Filesystem nearly full")
    with pytest.raises(InputError, match=r"^no finding code 'disk\.ful' .*did you mean disk\.full"):
        explain("disk.ful")
    with pytest.raises(InputError) as info:
        explain("$(reboot)\n" + "x" * 500)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_help_from_the_cli_and_the_console() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["help", "tcp.close_wait_high"])
    assert ok.exit_code == 0 and "What to do:" in ok.output
    every = runner.invoke(app, ["help", "codes"])
    assert every.exit_code == 0
    assert set(re.findall(r"^  ([a-z0-9]+\.[a-z0-9_]+) ", every.output, re.M)) == set(CATALOG)
    assert to_argv("/triagebot help disk.full") == ["help", "disk.full"]
    assert to_argv("help disk.full") == ["help", "disk.full"]
    assert to_argv("/digest list") == ["digest", "list"]


def test_entry_is_the_whole_catalogs() -> None:
    """entry() answers from the commands' codes first: the very entries CATALOG holds."""
    assert set(COMMAND_CODES) <= set(CATALOG)
    for code, found in CATALOG.items():
        assert entry(code) is found
        assert entry(f" {code.upper()} ") is found
    assert entry("no.such_code") is None
