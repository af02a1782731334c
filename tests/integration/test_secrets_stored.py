"""Secrets never reach the database: probe output, facts, evidence and raw output, redacted
(or not stored at all) on the way in, on SQLite and PostgreSQL; the count shows in --json.

Real components: probes run as real processes (LocalExecutor), reports go through
bot.service.record into a migrated store, and the CLI runs as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.service import record
from bot.settings import Settings
from bot.store.db import Store
from bot.store.models import FindingRow, ProbeResultRow
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.local import LocalExecutor
from ssh_probes.model import CommandResult, Finding, HostTarget, Probe, ProbeResult
from ssh_probes.probes.docker import DOCKER
from ssh_probes.runner import run_probe
from tests.fixtures.capture import OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = OUTPUTS / "docker" / "three-hosts-merged.txt"
LOCAL = HostTarget("local")


def env_items() -> list[str]:
    """Every `NAME=value` of every container's environment in the docker capture."""
    text = CAPTURE.read_text()
    inspect = text.split("@@inspect\n", 1)[1].rsplit("@@end", 1)[0]
    return [item for doc in json.loads(inspect) for item in doc["Config"]["Env"]]


async def stored(store: Store, run_id: int) -> tuple[list[ProbeResultRow], list[FindingRow]]:
    async with store.session() as s:
        results = list(
            await s.scalars(select(ProbeResultRow).where(ProbeResultRow.run_id == run_id))
        )
        findings = list(await s.scalars(select(FindingRow).where(FindingRow.run_id == run_id)))
    return results, findings


def one_report(*results: ProbeResult, findings: tuple[Finding, ...] = ()) -> Report:
    return Report("triage", "local", "ok", datetime.now(UTC), 5, findings, results)


async def test_docker_environments_are_never_stored(store: Store) -> None:
    # The real docker probe (its parser and raw filter) on the real capture, printed by cat.
    probe = replace(DOCKER, command=("cat", str(CAPTURE)))
    result = await run_probe(LocalExecutor(), probe, LOCAL)
    assert result.ok, result.error
    golden = json.loads((OUTPUTS / "docker" / "three-hosts-merged.json").read_text())
    assert result.facts == golden["facts"]  # what the docker rules read is all still there
    items = [i for i in env_items() if "=" in i]
    assert len(items) > 30
    # ELASTIC_PASSWORD and Django_secret_key: hidden by redaction, and counted.
    assert result.redacted == 2
    run_id = (await record(store, one_report(result), Settings())).run_id
    assert run_id is not None
    [row], _ = await stored(store, run_id)
    for raw in (result.raw, row.raw):
        assert "@@inspect" in raw and json.loads(raw.split("@@inspect\n")[1].split("@@end")[0])
        leaked = [i for i in items if i in raw]
        assert not leaked
        assert "projector-tenfold-hydrolysis" not in raw and "secret_value" not in raw
        assert '"ELASTIC_PASSWORD"' in raw and '"PATH"' in raw  # names are kept
    assert row.facts == result.facts


async def test_a_probe_can_refuse_to_store_its_output() -> None:
    probe = Probe(
        name="env",
        area="test",
        command=("printf", "HOME=/root\\nLANG=C\\n"),
        parse=lambda r: {"names": [line.split("=")[0] for line in r.stdout.split()]},
        store_raw=False,
    )
    result = await run_probe(LocalExecutor(), probe, LOCAL)
    assert result.ok and result.facts == {"names": ["HOME", "LANG"]}
    assert result.raw == ""


def lines_of(r: CommandResult) -> dict[str, object]:
    lines = r.stdout.splitlines()
    return {"lines": lines, "nested": {"first": [lines[0]], "token": "fact-t0ken"}}


async def test_run_probe_redacts_facts_raw_and_error_and_counts() -> None:
    out = "DB_PASS=pr0be-pw\\nmysql -uroot -pmysql-pw\\nDB_PASS=pr0be-pw\\n"
    probe = Probe("echo", "test", ("printf", out), parse=lines_of)
    result = await run_probe(LocalExecutor(), probe, LOCAL)
    text = json.dumps(result.facts) + result.raw
    for secret in ("pr0be-pw", "mysql-pw", "fact-t0ken"):
        assert secret not in text
    assert "DB_PASS=[REDACTED]" in result.raw
    assert result.redacted == 3  # pr0be-pw (twice), mysql-pw, and the fact under "token"
    failing = Probe("fail", "test", ("sh", "-c", "echo 'url postgres://a:err-pw@db' >&2; exit 3"),
                    parse=lambda r: {"x": r.stdout.split()[5]})  # fmt: skip
    failed = await run_probe(LocalExecutor(), failing, LOCAL)
    assert not failed.ok and "err-pw" not in failed.error and failed.redacted == 1


async def test_save_path_redacts_facts_and_evidence(store: Store) -> None:
    # Straight to the repository, not through record(): the save path itself redacts.
    result = ProbeResult("dig", "local", True, {"answer": "APP_KEY=f4cts", "auth": {"token": "x9"}})
    finding = Finding("dns.x", "warning", "t", evidence={"seen": ["SMTP_PASS=ev1dence"]})
    run_id = await RunRepo(store).save(one_report(result, findings=(finding,)))
    [row], [frow] = await stored(store, run_id)
    text = json.dumps(row.facts) + json.dumps(frow.evidence)
    assert "f4cts" not in text and "x9" not in text and "ev1dence" not in text
    assert row.facts["answer"] == "APP_KEY=[REDACTED]"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_json_and_console_say_how_many_were_hidden(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    env |= {"TRIAGEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db", "COLUMNS": "200"}
    # A process of this machine with a secret in its arguments, and the most memory (the
    # processes probe reads the arguments of its top 10 by CPU and by memory only).
    hold = (
        "import sys, time; b = bytearray(768 << 20); b[::4096] = b'x' * (len(b) // 4096); "
        "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, "DB_PASS=cli-s3cret-4711"], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        out = cli(env, "triage", "local", "--json")
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert "cli-s3cret-4711" not in out.stdout
        assert report["redacted"] >= 1
        assert sum(r["redacted"] for r in report["results"]) == report["redacted"]
        shown = cli(env, "triage", "local")
        assert "secret" in shown.stdout and "hidden" in shown.stdout, shown.stdout
        assert "cli-s3cret-4711" not in shown.stdout
        db = (tmp_path / "cli.db").read_bytes()
        assert b"cli-s3cret-4711" not in db
    finally:
        holder.kill()
        holder.communicate()
