"""The pure target rules: every spelling of an address normalised, then decided with a reason."""

from __future__ import annotations

import ipaddress

import pytest

from commands.target_guard import Guard, TargetRefused
from commands.targets import decide, normalise, numeric_host, parse_targets
from ssh_probes.errors import ConfigError

METADATA_SPELLINGS = [
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0XA9FEA9FE",
    "0251.0376.0251.0376",
    "0xa9.0xfe.0xa9.0xfe",
    "169.254.43518",
    "169.16689662",
    "[::ffff:a9fe:a9fe]",
    "[::ffff:169.254.169.254]",
    "::ffff:169.254.169.254",
    "[::169.254.169.254]",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "169.254.169.254.",
]
LOOPBACK_SPELLINGS = [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1",
    "127.000.000.001", "[::1]", "::1", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]", "0.0.0.0", "0", "[::]", "127.255.255.254", "[::ffff:0.0.0.0]",
]  # fmt: skip


@pytest.mark.parametrize("text", METADATA_SPELLINGS)
def test_every_spelling_of_metadata_is_refused_for_everyone(text: str) -> None:
    ip = normalise(text)
    assert ip is not None, text
    for remote in (True, False):
        verdict = decide(ip, None, "http", parse_targets(None), remote)
        assert not verdict.allowed
        assert "169.254.169.254 is cloud metadata (default deny" in verdict.reason
        assert "allow it under targets: in the policy" in verdict.reason


@pytest.mark.parametrize("text", LOOPBACK_SPELLINGS)
def test_loopback_refused_from_slack_allowed_at_the_machine(text: str) -> None:
    ip = normalise(text)
    assert ip is not None, text
    assert decide(ip, None, "http", parse_targets(None), remote=False).allowed
    verdict = decide(ip, None, "http", parse_targets(None), remote=True)
    assert not verdict.allowed and "from Slack deny" in verdict.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.9", "10.0.0.9"),
        ("1.2.3", "1.2.0.3"),
        ("FE80::1%eth0", "fe80::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("example.com", None),
        ("0x", None),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("09.1.1.1", None),  # not octal, not decimal: getaddrinfo refuses it too
        ("4294967296", None),
    ],
)
def test_normalise_table(text: str, expected: str | None) -> None:
    got = normalise(text)
    assert (str(got) if got is not None else None) == expected


@pytest.mark.parametrize(
    ("text", "numeric"), [("2852039166", True), ("a.b.0x10", True), ("web.example.com", False)]
)
def test_numeric_host(text: str, numeric: bool) -> None:
    assert numeric_host(text) is numeric


@pytest.mark.parametrize(
    ("address", "remote", "allowed", "words"),
    [
        ("fe80::1", False, False, "link-local (default deny"),
        ("169.254.1.1", False, False, "link-local"),
        ("fd00:ec2::254", False, False, "cloud metadata"),
        ("100.100.100.200", False, False, "cloud metadata"),
        ("168.63.129.16", True, False, "cloud metadata"),
        ("224.0.0.1", True, False, "multicast"),
        ("10.1.2.3", True, True, ""),
        ("192.168.1.1", True, True, ""),
        ("100.64.0.1", True, True, ""),
        ("198.18.0.10", True, True, ""),
        ("fd12::1", True, True, ""),
    ],
)
def test_defaults(address: str, remote: bool, allowed: bool, words: str) -> None:
    verdict = decide(ipaddress.ip_address(address), None, "http", parse_targets(None), remote)
    assert verdict.allowed is allowed and words in verdict.reason


POLICY = {
    "deny": ["10.0.0.0/8", "*.corp.example", "0.0.0.0/0"],
    "allow": ["10.9.0.0/16", "0.0.0.0/1", "128.0.0.0/1", "ok.corp.example"],
    "commands": {
        "http": {"allow": ["169.254.169.254/32", "127.0.0.0/8"], "deny": ["10.9.9.0/24"]},
        "dig": {"allow": ["0.0.0.0/0"]},
    },
}


@pytest.mark.parametrize(
    ("command", "address", "name", "allowed", "words"),
    [
        ("http", "10.1.2.3", None, False, "denied by targets.deny 10.0.0.0/8"),
        ("http", "10.9.1.1", None, True, ""),  # the longer allow wins
        ("http", "10.9.9.9", None, False, "denied by targets.commands.http.deny 10.9.9.0/24"),
        ("http", "192.0.2.1", "db.corp.example", False, "denied by targets.deny *.corp.example"),
        ("http", "192.0.2.1", "ok.corp.example", True, ""),
        ("http", "169.254.169.254", None, True, ""),  # explicit allow of metadata
        ("http", "127.0.0.1", None, True, ""),
        ("dig", "169.254.169.254", None, False, "cloud metadata"),  # 0.0.0.0/0 lifts nothing
        ("dig", "127.0.0.1", None, False, "loopback"),
        ("triage-port", "10.2.2.2", None, False, "targets.deny 10.0.0.0/8"),
        ("http", "::ffff:10.1.2.3", None, False, "::ffff:a01:203 = 10.1.2.3 is denied"),
    ],
)
def test_policy_rules(
    command: str, address: str, name: str | None, allowed: bool, words: str
) -> None:
    targets = parse_targets(POLICY)
    verdict = decide(ipaddress.ip_address(address), name, command, targets, remote=True)
    assert verdict.allowed is allowed, verdict.reason
    assert words in verdict.reason


def test_a_name_allow_does_not_lift_a_builtin_refusal() -> None:
    targets = parse_targets({"allow": ["metadata.google.internal"]})
    verdict = decide(
        ipaddress.ip_address("169.254.169.254"), "metadata.google.internal", "http", targets, True
    )
    assert not verdict.allowed and "metadata.google.internal (169.254.169.254)" in verdict.reason


@pytest.mark.parametrize(
    "data",
    [
        ["10.0.0.0/8"],
        {"allow": "10.0.0.0/8"},
        {"allow": ["not a name!"]},
        {"commands": {"ssh": {}}},
        {"commands": {"http": {"only": []}}},
        {"bogus": []},
    ],
)
def test_bad_targets_section_is_a_config_error(data: object) -> None:
    with pytest.raises(ConfigError, match="policy file"):
        parse_targets(data)


def test_guard_check_names_what_was_refused_and_returns_the_canonical_address() -> None:
    guard = Guard(parse_targets(None), "http", remote=True)
    assert guard.check("0x0a000001") == "10.0.0.1"
    with pytest.raises(TargetRefused, match=r"^refused: --resolve pin: 127\.0\.0\.1 is the bot"):
        guard.check("127.1", None, "--resolve pin")
    with pytest.raises(TargetRefused):
        guard.check_all(["10.0.0.1", "169.254.169.254"], "mixed.example")


def test_the_readme_example_parses_and_means_what_it_says() -> None:
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "targets:" in b)
    targets = parse_targets(yaml.safe_load(block)["targets"])

    def allowed(command: str, address: str, name: str | None = None) -> bool:
        return decide(ipaddress.ip_address(address), name, command, targets, True).allowed

    assert not allowed("http", "10.20.1.5") and allowed("http", "10.21.1.5")
    assert allowed("http", "10.20.1.5", "db.corp.example")
    assert not allowed("dig", "192.0.2.1", "x.corp.example")
    assert allowed("http", "169.254.169.254") and not allowed("dig", "169.254.169.254")
    assert allowed("triage-port", "127.0.0.1") and not allowed("http", "127.0.0.1")
    assert allowed("from", "10.1.1.1") and not allowed("from", "192.0.2.1")
    assert not allowed("from", "2001:db8::1")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://2852039166/latest", "169.254.169.254"),
        ("http://0x7f.1:8080/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://[::FFFF:A9FE:A9FE]/", "::ffff:a9fe:a9fe"),
    ],
)
def test_http_urls_name_the_address_every_spelling_means(url: str, host: str) -> None:
    from commands.web.request import parse

    assert parse([url]).host == host


@pytest.mark.parametrize("url", ["http://foo.123/", "http://1.2.3.4.5/", "http://0x/"])
def test_a_numeric_last_label_that_is_no_address_is_refused(url: str) -> None:
    from commands.web.request import parse
    from ssh_probes.errors import InputError

    with pytest.raises(InputError, match="invalid URL"):
        parse([url])


def test_a_resolve_pin_in_any_spelling_is_normalised() -> None:
    from commands.web.request import parse

    request = parse(["http://a.example:80/", "--resolve", "a.example:80:2130706433"])
    assert request.pins[0].ip == "127.0.0.1"
