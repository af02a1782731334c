"""Every command parser under 10,000 hostile inputs: refused in one line, or valid data.

Inputs mix shell metacharacters, option injection, line breaks, NUL, Slack link wrapping,
homoglyphs and 10 KB strings (tests/load/hostile.py). A parser may only raise InputError
(one line), and whatever it accepts must pass the project's own validators.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import console
from bot.slack import hosts_text
from commands import dig, hosts, triage
from commands.web import request as http
from tests.load.hostile import (
    ATOMS,
    FUZZ,
    domain_ok,
    host_name_ok,
    ip_ok,
    line,
    one_line,
    refused_or,
    url_ok,
    word,
    words,
)

pytestmark = pytest.mark.slow

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def _triage_ok(req: triage.TriageRequest) -> None:
    host_name_ok(req.host)
    assert req.port is None or 1 <= req.port <= 65535


@FUZZ
@given(st.one_of(line, words))
def test_triage_parse(text: str | list[str]) -> None:
    refused_or(lambda: triage.parse(text), _triage_ok)


def _dig_ok(req: dig.DigRequest) -> None:
    domain_ok(req.domain, service=True)
    assert one_line(req.display) and not any(c.isspace() for c in req.display)
    assert set(req.types) <= set(dig.KNOWN_TYPES)
    assert len(req.resolvers) <= dig.MAX_RESOLVERS
    for address, port in req.resolvers:
        ip_ok(address)
        assert 1 <= port <= 65535
    if req.from_host is not None:
        host_name_ok(req.from_host)


@FUZZ
@given(words)
def test_dig_parse(argv: list[str]) -> None:
    refused_or(lambda: dig.parse(argv), _dig_ok)


def _http_ok(req: http.HttpRequest) -> None:
    url_ok(req.url, req.host, req.port, req.scheme)
    assert req.method in http.METHODS
    for pin in req.pins:
        domain_ok(pin.host)
        ip_ok(pin.ip)
        assert 1 <= pin.port <= 65535
    if req.pins:
        assert req.pin_for(req.host, req.port) is not None
    if req.from_host is not None:
        host_name_ok(req.from_host)


@FUZZ
@given(words)
def test_http_parse(argv: list[str]) -> None:
    refused_or(lambda: http.parse(argv), _http_ok)


def _spec_ok(spec: hosts.HostSpec) -> None:
    host_name_ok(spec.name)
    assert spec.name != "local"
    if hosts.validate.ip_address(spec.address) is None:
        domain_ok(spec.address)
    else:
        ip_ok(spec.address)
    assert 1 <= spec.port <= 65535 and all(1 <= p <= 65535 for p in spec.expect_ports)
    assert hosts.validate.user(spec.user) == spec.user
    assert spec.host_keys and all(hosts.host_key(k) == k for k in spec.host_keys)
    for path in spec.logs:
        assert path.startswith("/") and os.path.normpath(path) == path
        assert not any(c in path for c in "\0\n\r")
    for key, value in spec.labels.items():
        assert hosts.label(f"{key}={value}") == (key, value)


@FUZZ
@given(
    name=word,
    address=word,
    port=st.integers(-10, 70_000),
    user=word,
    key=st.none() | word,
    known=st.none() | word,
    host_keys=st.lists(st.sampled_from([KEY, KEY + " comment", *ATOMS[:20]]) | word, max_size=2),
    expect=st.lists(st.integers(-10, 70_000), max_size=3),
    logs=st.lists(word, max_size=2),
    labels=st.lists(word, max_size=2),
)
def test_hosts_build_spec(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    address: str,
    port: int,
    user: str,
    key: str | None,
    known: str | None,
    host_keys: list[str],
    expect: list[int],
    logs: list[str],
    labels: list[str],
) -> None:
    # Relative paths (--key, --known-hosts) resolve in an empty directory of our own.
    os.chdir(tmp_path_factory.getbasetemp())
    refused_or(
        lambda: hosts.build_spec(
            name,
            address=address,
            port=port,
            user=user,
            key=key,
            known_hosts=known,
            host_keys=host_keys,
            expect_ports=expect,
            logs=logs,
            labels=labels,
        ),
        _spec_ok,
    )


def _hosts_text(text: str) -> None:
    request = hosts_text.parse(text)
    assert request.verb in ("list", "show", "remove", "add")
    if request.verb in ("show", "remove"):
        host_name_ok(request.name)
    if request.verb == "add":
        _spec_ok(hosts_text.spec_from(request))


@FUZZ
@given(
    st.one_of(
        line,
        st.tuples(st.sampled_from(["add", "show", "remove", "list", "ADD"]), line).map(" ".join),
        line.map(lambda rest: f"add web-1 --address 198.18.0.9 --host-key '{KEY}' {rest}"),
    )
)
def test_hosts_slack_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    os.chdir(tmp_path_factory.getbasetemp())
    refused_or(lambda: _hosts_text(text), lambda _none: None)


@FUZZ
@given(word)
def test_triage_selector_and_label(text: str) -> None:
    def check(pair: tuple[str, str] | None) -> None:
        if pair is not None:
            assert hosts.label("=".join(pair)) == pair and one_line(pair[0])

    refused_or(lambda: triage.selector(text), check)


@FUZZ
@given(st.one_of(line, st.lists(word, max_size=4).map("\n".join)))
def test_console_to_argv(text: str) -> None:
    """A console line is split like a shell would, but only into words for the CLI's parsers."""
    try:
        argv = console.to_argv(text)
    except ValueError as exc:
        assert one_line(str(exc)), repr(str(exc))
        return
    if argv is None or argv in ([], ["help"]):
        return
    assert argv[0] in console.SLASH_COMMANDS
    assert all(isinstance(w, str) for w in argv)


@pytest.fixture(autouse=True, scope="module")
def _keep_cwd() -> Iterator[None]:
    cwd = Path.cwd()
    yield None
    os.chdir(cwd)
