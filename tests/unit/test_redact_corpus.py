"""Redaction against tests/fixtures/redact/: every secret shape of issue 13 in many contexts,
and real ordinary output of this machine (a busy host's ps, df, ss, dmesg, ip) untouched.

corpus.txt marks each secret value between ⟦ and ⟧ (see its header); the test removes the
markers, redacts, and requires that no marked value appears anywhere in the output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssh_probes.redact import MASK, Redactor, redact, redact_data

FIXTURES = Path(__file__).parent.parent / "fixtures" / "redact"
OPEN, CLOSE, NEWLINE = "\u27e6", "\u27e7", "\u23ce"


def load_corpus() -> list[tuple[str, list[str]]]:
    """(text, secrets) for each case of corpus.txt."""
    cases = []
    for line in (FIXTURES / "corpus.txt").read_text().splitlines():
        if not line.strip() or line.startswith("# "):
            continue
        line = line.replace(NEWLINE, "\n")
        secrets = [part.split(CLOSE, 1)[0] for part in line.split(OPEN)[1:]]
        cases.append((line.replace(OPEN, "").replace(CLOSE, ""), secrets))
    return cases


CORPUS = load_corpus()
SECRET_CASES = [(text, secrets) for text, secrets in CORPUS if secrets]
PLAIN_CASES = [text for text, secrets in CORPUS if not secrets]
ORDINARY = sorted((FIXTURES / "ordinary").glob("*.txt"))


def test_corpus_is_large_enough() -> None:
    assert len(SECRET_CASES) >= 150
    assert len(PLAIN_CASES) >= 15


@pytest.mark.parametrize(
    ("text", "secrets"), SECRET_CASES, ids=[f"case{i}" for i in range(len(SECRET_CASES))]
)
def test_no_secret_survives(text: str, secrets: list[str]) -> None:
    out = redact(text)
    survivors = [s for s in secrets if s in out]
    assert not survivors, out
    # Nor any part of one: half-redaction (`[REDACTED]@ssw0rd@host`) leaks the rest.
    parts = [s[i : i + 5] for s in secrets for i in range(max(1, len(s) - 4))]
    assert not [p for p in parts if p in out], out
    assert MASK in out
    assert redact(out) == out  # idempotent: a second pass finds nothing more


@pytest.mark.parametrize("text", PLAIN_CASES, ids=[f"plain{i}" for i in range(len(PLAIN_CASES))])
def test_ordinary_lines_are_unchanged(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("path", ORDINARY, ids=[p.name for p in ORDINARY])
def test_ordinary_output_is_byte_identical(path: Path) -> None:
    text = path.read_text()
    assert redact(text) == text


def test_the_busy_ps_capture_is_about_200_kb() -> None:
    # The fast path is measured on it (bench/redact_bench.py): it must stay a big, real ps.
    text = (FIXTURES / "ordinary" / "ps-auxww-busy.txt").read_text()
    assert len(text) > 150_000
    assert text.startswith("USER ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=p&ss", f"password={MASK}"),
        ("password=p&user=bob", f"password={MASK}&user=bob"),
        ("postgres://user:p@ssw0rd@host/db", f"postgres://user:{MASK}@host/db"),
        ("postgres://app:Ab/cd+ef==@db", f"postgres://app:{MASK}@db"),
        ('password: "hunter 2"', f'password: "{MASK}"'),
        ("mysql -uroot -phunter2 app", f"mysql -uroot -p{MASK} app"),
        ("DB_PASS=x SMTP_PASS=y", f"DB_PASS={MASK} SMTP_PASS={MASK}"),
        ("machine h login u password p", f"machine h login u password {MASK}"),
        ("h:5432:db:u:pw", f"h:5432:db:u:{MASK}"),
        ("https://h/o?a=1&sig=abc&b=2", f"https://h/o?a=1&sig={MASK}&b=2"),
        ("http://host:8080/users/@me", "http://host:8080/users/@me"),
        ("sshd -o PasswordAuthentication=no", "sshd -o PasswordAuthentication=no"),
    ],
)
def test_only_the_value_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_json_stays_json() -> None:
    doc = {
        "headers": {"authorization": "Bearer abc.def", "Cookie": "sid=1; x=2"},
        "env": ["DB_PASS=p&ss", "APP_KEY=base64:Zm9v", "URL=postgres://a:b/c@db/x"],
        "password": 'with "quotes" and spaces',
        "key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
    }
    for text in (json.dumps(doc), json.dumps(doc, indent=4), json.dumps(json.dumps(doc))):
        out = redact(text)
        assert json.loads(out)
        for secret in ("abc.def", "sid=1", "p&ss", "Zm9v", "a:b/c", "quotes", "MIIEow"):
            assert secret not in out


def test_redactor_counts_distinct_values() -> None:
    redactor = Redactor()
    redactor.text("DB_PASS=one APP_KEY=two")
    redactor.text("again DB_PASS=one")  # the same value twice is one secret
    redactor.text(f"already hidden DB_PASS={MASK}")
    assert redactor.count == 2


def test_redact_data_walks_dicts_lists_and_tuples() -> None:
    facts = {
        "top": [{"args": "mysql -psecret1", "pid": 4}],
        "pair": ("ok", "token=secret2"),
        "password=secret3": 1,
        "n": 7,
        "none": None,
        "headers": {"Authorization": "Bearer secret4", "X-Api-Token": "secret5"},
        "password_auth": "no",
    }
    redactor = Redactor()
    out = redactor.data(facts)
    text = repr(out)
    for n in range(1, 6):
        assert f"secret{n}" not in text
    assert out["password_auth"] == "no"
    assert out["n"] == 7 and out["none"] is None and out["top"][0]["pid"] == 4
    assert isinstance(out["pair"], tuple)
    assert redactor.count == 5
    assert redact_data(facts) == out
