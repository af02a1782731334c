"""tls.expiring and what /http trusts, against real TLS servers on loopback (trustme
certificates with short lives), and on an expected TLS port of a lab host during `triage`."""

from __future__ import annotations

import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from bot.settings import load_settings
from commands import triage
from commands.http import HttpOptions, parse, run
from commands.report import Report
from commands.web import certs
from ssh_probes.errors import ConfigError
from ssh_probes.executor import SSHOptions
from tests.http_fixtures import TLS_NAME, Serve
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost


def leaf(ca: trustme.CA, days: float) -> trustme.LeafCert:
    """A certificate for TLS_NAME that expires in `days` days."""
    now = datetime.now(UTC)
    return ca.issue_cert(
        TLS_NAME, not_before=now - timedelta(days=30), not_after=now + timedelta(days=days)
    )


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


async def fetch(serve: Serve, ctx: ssl.SSLContext, opts: HttpOptions) -> Report:
    server = await serve(tls=ctx)
    pin = f"{TLS_NAME}:{server.port}:127.0.0.1"
    return await run(parse([server.url("/ok", host=TLS_NAME), "--resolve", pin]), opts)


def serious(report: Report) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in report.findings if f.severity != "info")


@pytest.mark.parametrize(
    ("days", "want"),
    [
        (60, []),
        (10, [("tls.expiring", "warning")]),
        (2, [("tls.expiring", "critical")]),
    ],
    ids=["60-days", "10-days", "2-days"],
)
async def test_http_reports_days_left(
    serve: Serve, test_ca: trustme.CA, ca_file: str, days: float, want: list[tuple[str, str]]
) -> None:
    report = await fetch(serve, server_context(leaf(test_ca, days)), HttpOptions(ca_file=ca_file))
    assert serious(report) == want
    cert = report.results[0].facts["hops"][0]["certificate"]
    assert cert["days_left"] == pytest.approx(days, abs=0.1)
    assert cert["subject"] == TLS_NAME and cert["names"] == [TLS_NAME]  # trustme: no CN, a SAN
    if want:
        [f] = [f for f in report.findings if f.code == "tls.expiring"]
        assert f"{TLS_NAME}:" in f.title and "openssl s_client -connect" in f.suggestion


async def test_thresholds_are_settings(
    serve: Serve, test_ca: trustme.CA, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.service import http_options

    for key in ("TRIAGEBOT_TLS_EXPIRY_WARNING_DAYS", "TRIAGEBOT_TLS_EXPIRY_CRITICAL_DAYS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRIAGEBOT_TLS_EXPIRY_WARNING_DAYS", "30")
    monkeypatch.setenv("TRIAGEBOT_CA_FILE", ca_file)
    opts = http_options(load_settings())
    assert (opts.tls_expiry_warning_days, opts.tls_expiry_critical_days) == (30.0, 3.0)
    assert opts.ca_file == ca_file
    report = await fetch(serve, server_context(leaf(test_ca, 20)), opts)
    assert serious(report) == [("tls.expiring", "warning")]


def test_a_bad_ca_file_setting_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    for value in (str(bad), str(tmp_path / "missing.pem")):
        monkeypatch.setenv("TRIAGEBOT_CA_FILE", value)
        with pytest.raises(ConfigError) as info:
            load_settings()
        assert str(info.value).startswith("TRIAGEBOT_CA_FILE: ") and "\n" not in str(info.value)


async def test_private_ca_trusted_by_the_machine_is_trusted(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA neither certifi nor TRIAGEBOT_CA_FILE knows, given as SSL_CERT_FILE (as the
    machine's other clients would be): verified; without it, `unknown CA`."""
    private = trustme.CA()
    ctx = server_context(leaf(private, 90))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    untrusted = await fetch(serve, ctx, HttpOptions())
    assert serious(untrusted) == [("tls.error", "critical")]
    bundle = tmp_path / "machine-ca.pem"
    private.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    trusted = await fetch(serve, ctx, HttpOptions())
    assert serious(trusted) == []
    assert trusted.results[0].facts["status"] == 200


def test_expired_certificate_is_tls_error_not_expiring(test_ca: trustme.CA) -> None:
    now = datetime.now(UTC)
    old = test_ca.issue_cert(
        TLS_NAME, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
    )
    der = ssl.PEM_cert_to_DER_cert(old.cert_chain_pems[0].bytes().decode())
    cert = certs.describe(der)
    assert cert is not None and cert["days_left"] < 0
    assert certs.expiring(cert, "x:443", "local", 14, 3) is None


# --- triage: the host's expected TLS ports --------------------------------------------------


@pytest.mark.lab
async def test_triage_reads_the_certificate_of_an_expected_tls_port(
    lab_host: LabHost, test_ca: trustme.CA, tmp_path: Path
) -> None:
    cert = leaf(test_ca, 2)
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    server = subprocess.Popen(
        [
            "nsenter",
            f"--net=/var/run/netns/{lab_host.netns}",
            "/usr/bin/python3",
            "-c",
            "import socket,ssl,time\n"
            "c=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
            f"c.load_cert_chain('{chain}','{key}')\n"
            "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "s.bind(('0.0.0.0',8443));s.listen()\n"
            "while True:\n"
            " k,_=s.accept()\n"
            " try: c.wrap_socket(k,server_side=True).close()\n"
            " except (OSError,ssl.SSLError): k.close()\n",
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while ":8443" not in lab_host.exec(["ss", "-H", "-lnt", "sport = :8443"]).stdout:
            assert time.monotonic() < deadline, "TLS server did not come up"
            time.sleep(0.05)
        opts = triage.TriageOptions(ssh=SSHOptions(connect_timeout_s=3.0), probes=("sockets",))
        report = await triage.run(target_for(lab_host), opts, port=8443)
    finally:
        server.kill()
        server.wait()
    assert serious(report) == [("tls.expiring", "critical")]
    [f] = [f for f in report.findings if f.code == "tls.expiring"]
    assert f.evidence["where"] == f"{lab_host.address}:8443"
    tls = next(r for r in report.results if r.probe == "tls:8443")
    assert tls.facts["certificate"]["days_left"] == pytest.approx(2, abs=0.1)
