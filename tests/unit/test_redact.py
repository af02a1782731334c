# ruff: noqa: E501  (corpus lines are kept whole, as the programs print them)
"""Redaction: a corpus of realistic lines (ps arguments, journal lines, curl -v output).

Each case lists the secrets that must not survive; lines without secrets must come out
unchanged (redaction that eats ordinary output hides evidence).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssh_probes.redact import MASK, redact

CORPUS = [
    # ps arguments
    (
        "postgres  1234  0.0  0.1 psql postgresql://app:Sup3rS3cret!@db.internal:5432/app",
        ["Sup3rS3cret!"],
    ),
    (
        "root 812 /usr/bin/mysqld --user=mysql --password=hunter2hunter2 --port=3306",
        ["hunter2hunter2"],
    ),
    ("root 901 mysql -uroot --password hunter2x -h 10.0.0.5", ["hunter2x"]),
    ("app 77 env PGPASSWORD=pg_s3cr3t_val pg_dump -h db -U app appdb", ["pg_s3cr3t_val"]),
    (
        "app 78 /opt/app/bin/server --api-key=ak_live_51HqLyjWDarjtT1zdp7dc --listen :8080",
        ["ak_live_51HqLyjWDarjtT1zdp7dc"],
    ),
    ("app 79 node server.js --token abcdef0123456789abcdef", ["abcdef0123456789abcdef"]),
    ("app 80 python worker.py --db-password 'Pa55w0rd-xyz'", ["Pa55w0rd-xyz"]),
    ("redis 81 redis-server *:6379 --requirepass r3d1sP4ss", ["r3d1sP4ss"]),
    ("app 82 java -Dspring.datasource.password=j4v4S3cret -jar app.jar", ["j4v4S3cret"]),
    (
        "app 83 /usr/bin/aws s3 cp s3://bucket/key . AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    ),
    ("app 84 env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE terraform apply", ["AKIAIOSFODNN7EXAMPLE"]),
    (
        "app 85 git clone https://oauth2:glpat-xK3dL9mN2pQ7rS5tV8wY@gitlab.example.com/grp/repo.git",
        ["glpat-xK3dL9mN2pQ7rS5tV8wY"],
    ),
    (
        "app 86 git clone https://ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789@github.com/org/repo",
        ["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"],
    ),
    (
        "app 87 /usr/local/bin/bot SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    ),
    (
        "app 88 socket-client --app-token xapp-1-A0123456789-1234567890123-abcdef0123456789",
        ["xapp-1-A0123456789-1234567890123-abcdef0123456789"],
    ),
    (
        "app 89 curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U' https://api.internal/v1",
        [
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        ],
    ),
    ("app 90 curl -u admin:adm1nPass https://registry.internal/v2/", ["adm1nPass"]),
    ("app 91 mongod --bind_ip_all mongodb://root:m0ng0pw@mongo-0:27017/admin", ["m0ng0pw"]),
    ("app 92 celery worker -b amqp://guest:rabb1tpw@rabbit:5672//", ["rabb1tpw"]),
    ("app 93 redis-cli -u redis://:r3d1sUrlPw@cache:6379/0 ping", ["r3d1sUrlPw"]),
    (
        "app 94 gunicorn app:app --env SECRET_KEY=django-insecure-8f7g6h5j4k3l",
        ["django-insecure-8f7g6h5j4k3l"],
    ),
    (
        "app 95 docker login -u deploy -p dckr_pat_Ab12Cd34Ef56Gh78 registry.example.com",
        ["dckr_pat_Ab12Cd34Ef56Gh78"],
    ),
    ("app 96 vault login token=hvs.CAESIJx9aBcDeFgHiJkLmNoPq", ["hvs.CAESIJx9aBcDeFgHiJkLmNoPq"]),
    (
        "app 97 github-runner --token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
        ["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS"],
    ),
    ("app 98 ./deploy.sh --secret=t0ps3cr3t --env prod", ["t0ps3cr3t"]),
    # journal lines
    (
        "Mar 03 10:12:01 web-1 app[2231]: connecting to postgres://svc:jrnlPw99@10.1.2.3/db failed: timeout",
        ["jrnlPw99"],
    ),
    (
        "Mar 03 10:12:02 web-1 app[2231]: DEBUG request headers: Authorization: Basic YWRtaW46c2VjcmV0cGFzcw==",
        ["YWRtaW46c2VjcmV0cGFzcw=="],
    ),
    (
        "Mar 03 10:12:03 web-1 app[2231]: DEBUG Cookie: session=9f8e7d6c5b4a; csrftoken=abc123def456",
        ["9f8e7d6c5b4a", "abc123def456"],
    ),
    (
        "Mar 03 10:12:04 web-1 nginx[88]: upstream sent Set-Cookie: sid=s%3Aabcdef.ghijkl; Path=/; HttpOnly",
        ["s%3Aabcdef.ghijkl"],
    ),
    (
        'Mar 03 10:12:05 web-1 app[2231]: config loaded: {"password": "js0nPw", "user": "app"}',
        ["js0nPw"],
    ),
    (
        "Mar 03 10:12:06 web-1 app[2231]: login failed for user=bob password=b0bsPass from 10.0.0.9",
        ["b0bsPass"],
    ),
    ("Mar 03 10:12:07 web-1 app[2231]: using api_key: 'k3y-0f-th3-d4y'", ["k3y-0f-th3-d4y"]),
    (
        "Mar 03 10:12:08 web-1 app[2231]: slack webhook failed token=xoxp-2222222222-3333333333-444444444444-abcdefabcdefabcdef",
        ["xoxp-2222222222-3333333333-444444444444-abcdefabcdefabcdef"],
    ),
    (
        "Mar 03 10:12:09 web-1 sshd[991]: Accepted publickey for deploy from 10.0.0.4 port 50122 ssh2",
        [],
    ),
    (
        "Mar 03 10:12:10 web-1 app[2231]: AWS credentials: aws_secret_access_key = 9drTJvcXLB89EXAMPLELB8923FB892xMFI",
        ["9drTJvcXLB89EXAMPLELB8923FB892xMFI"],
    ),
    (
        "Mar 03 10:12:11 web-1 app[2231]: jwt=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ0cmlhZ2UifQ.c2lnbmF0dXJlX3NpZ25hdHVyZQ rejected",
        ["eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ0cmlhZ2UifQ.c2lnbmF0dXJlX3NpZ25hdHVyZQ"],
    ),
    (
        "Mar 03 10:12:12 web-1 kernel: Out of memory: Killed process 4412 (java) total-vm:8123456kB",
        [],
    ),
    (
        "Mar 03 10:12:13 web-1 app[2231]: DATABASE_URL=mysql://root:r00tpw@mysql:3306/app",
        ["r00tpw"],
    ),
    (
        "Mar 03 10:12:14 web-1 app[2231]: ERROR bad gateway from http://user:pa%40ss@upstream:8080/health",
        ["pa%40ss"],
    ),
    (
        "Mar 03 10:12:15 web-1 app[2231]: Proxy-Authorization: Basic cHJveHk6cHJveHlwYXNz",
        ["cHJveHk6cHJveHlwYXNz"],
    ),
    (
        "Mar 03 10:12:16 web-1 app[2231]: client_secret=cl13nt-s3cr3t-v4lue grant_type=client_credentials",
        ["cl13nt-s3cr3t-v4lue"],
    ),
    (
        "Mar 03 10:12:17 web-1 app[2231]: access_token=ya29.a0AfH6SMBxyz123 expires_in=3599",
        ["ya29.a0AfH6SMBxyz123"],
    ),
    (
        "Mar 03 10:12:18 web-1 app[2231]: refresh_token: 1//0gABCDEFghijkl-mnop",
        ["1//0gABCDEFghijkl-mnop"],
    ),
    (
        "Mar 03 10:12:19 web-1 app[2231]: GET /callback?code=abc&state=xyz&token=qs-t0k3n-v4l 200",
        ["qs-t0k3n-v4l"],
    ),
    (
        "Mar 03 10:12:20 web-1 systemd[1]: app.service: Main process exited, code=exited, status=1/FAILURE",
        [],
    ),
    # curl output
    ("> GET /api/v1/me HTTP/1.1", []),
    ("> Authorization: Bearer sk-live-0123456789abcdefABCDEF", ["sk-live-0123456789abcdefABCDEF"]),
    (
        "> authorization: token ghp_zyxwvutsrqponmlkjihgfedcba9876543210",
        ["ghp_zyxwvutsrqponmlkjihgfedcba9876543210"],
    ),
    ("> Cookie: _session_id=4f2a9c1e8b7d6a5f; remember_me=1", ["4f2a9c1e8b7d6a5f"]),
    (
        "< set-cookie: AWSALB=Xy9zAbCdEf/GhIjKl; Expires=Tue, 10 Mar 2026 10:00:00 GMT; Path=/",
        ["Xy9zAbCdEf/GhIjKl"],
    ),
    ("< HTTP/1.1 401 Unauthorized", []),
    ('< www-authenticate: Bearer realm="api"', []),
    ("* Connected to api.internal (10.0.0.7) port 443", []),
    ("curl: (7) Failed to connect to 10.0.0.8 port 80 after 3 ms: Connection refused", []),
    ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current", []),
    (
        '{"access_key": "AKIAJ5Q7R2D9EXAMPLE1", "secret_key": "abcDEF123ghiJKL456mnoPQR789stuVWX012yzA"}',
        ["AKIAJ5Q7R2D9EXAMPLE1", "abcDEF123ghiJKL456mnoPQR789stuVWX012yzA"],
    ),
    # a PEM block (multi-line, as a log capture would hold it)
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c2V0dGVyLXNlY3JldC1rZXktbWF0ZXJpYWw=\n-----END RSA PRIVATE KEY-----",
        ["MIIEowIBAAKCAQEA1c2V0dGVyLXNlY3JldC1rZXktbWF0ZXJpYWw="],
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----",
        ["b3BlbnNzaC1rZXktdjEAAAAABG5vbmU="],
    ),
    (
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBYt0k3nK3yM4t3r1al",
        ["MHcCAQEEIBYt0k3nK3yM4t3r1al"],
    ),
]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50
    assert sum(bool(secrets) for _line, secrets in CORPUS) >= 40


@pytest.mark.parametrize(("line", "secrets"), CORPUS, ids=[f"line{i}" for i in range(len(CORPUS))])
def test_no_secret_survives(line: str, secrets: list[str]) -> None:
    out = redact(line)
    for secret in secrets:
        assert secret not in out
    if secrets:
        assert MASK in out
    else:
        assert out == line


def test_redaction_is_idempotent() -> None:
    for line, _secrets in CORPUS:
        once = redact(line)
        assert redact(once) == once


def test_context_is_kept() -> None:
    out = redact("app 1 mysqld --user=mysql --password=hunter2hunter2 --port=3306")
    assert out == f"app 1 mysqld --user=mysql --password={MASK} --port=3306"
    url = redact("redis-cli -u redis://:pw123456@cache:6379/0 ping")
    assert url == f"redis-cli -u redis://:{MASK}@cache:6379/0 ping"


def redact_every_pattern(text: str) -> str:
    """The reference: every pattern applied, no literal pre-checks."""
    from ssh_probes.redact import _masker
    from ssh_probes.redact_patterns import PATTERNS

    for shape in PATTERNS:
        text = shape.pattern.sub(_masker(None), text)
    return text


def test_pre_checks_skip_nothing_on_the_corpus() -> None:
    for line, _ in CORPUS:
        for text in (line, line.upper(), line.lower(), f"{line}\n{line.swapcase()}\n"):
            assert redact(text) == redact_every_pattern(text), text


def test_unicode_folding_is_not_left_to_the_pre_checks() -> None:
    # U+017F LONG S matches "s" under (?i) but str.lower() keeps it: non-ASCII text skips the
    # pre-checks, so the keyword pattern still runs and the value is masked.
    line = "PA\u017f\u017fWORD=hunter2"
    assert "hunter2" not in redact(line)
    assert redact(line) == redact_every_pattern(line)


def _fragments() -> list[str]:
    words = [w for line, secrets in CORPUS for w in (*line.split(), *secrets)]
    return [
        *words,
        " ",
        "\n",
        "=",
        ":",
        "-u ",
        "--user=",
        "://",
        "@",
        "\u017f",
        "\u212a",
        "\u00e9",
        "\t",
    ]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_fragments()) | st.text(max_size=8), max_size=30))
def test_pre_checks_agree_with_running_every_pattern(parts: list[str]) -> None:
    text = "".join(parts)
    assert redact(text) == redact_every_pattern(text)
