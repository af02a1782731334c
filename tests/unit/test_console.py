"""Console lines map to the CLI's argv without any shell in between."""

from __future__ import annotations

import pytest

from bot.cli.console import to_argv


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("/triage web-1", ["triage", "web-1"]),
        ("triage local --json", ["triage", "local", "--json"]),
        (
            "/hosts add a --host-key 'ssh-ed25519 AAAA'",
            ["hosts", "add", "a", "--host-key", "ssh-ed25519 AAAA"],
        ),
        ("/triage 'x; rm -rf /'", ["triage", "x; rm -rf /"]),
        ("   ", []),
        ("help", ["help"]),
        ("quit", None),
    ],
    ids=["slash", "bare", "quoted-key", "metachar-stays-one-word", "blank", "help", "quit"],
)
def test_to_argv(line: str, argv: list[str] | None) -> None:
    assert to_argv(line) == argv


@pytest.mark.parametrize("line", ["/reboot now", "/triage 'unclosed"], ids=["unknown", "quote"])
def test_refused_lines(line: str) -> None:
    with pytest.raises(ValueError):
        to_argv(line)
