"""Run probes on one executor concurrently; every failure becomes a ProbeResult."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ssh_probes.errors import ExecutorError
from ssh_probes.executor_base import Executor  # not .executor: that imports asyncssh
from ssh_probes.model import CommandResult, Facts, HostTarget, Probe, ProbeResult
from ssh_probes.redact import Redactor

# A probe that could not run at all (ExecutorError: host unreachable) reads "code: detail".
_UNREACHABLE = re.compile(r"(ssh\.[a-z_]+): (.*)", re.S)


def unreachable_error(exc: ExecutorError) -> str:
    """The error of a probe that could not run because of `exc` (what could_not_run reads)."""
    return f"{exc.code}: {exc.detail}"


def could_not_run(result: ProbeResult) -> tuple[str, str] | None:
    """(code, detail) when `result` failed because its host could not be reached, else None."""
    if result.ok:
        return None
    found = _UNREACHABLE.fullmatch(result.error)
    return (found[1], found[2]) if found else None


async def run_probe(executor: Executor, probe: Probe, host: HostTarget) -> ProbeResult:
    """Run one probe; timeouts, unreachable hosts and parse errors are results, not raises."""
    started = time.monotonic()
    sent = time.time()
    try:
        out = await executor.run(probe.argv(host), timeout=probe.timeout_s, input=probe.stdin)
    except ExecutorError as exc:
        return interpret(probe, host, None, started, error=unreachable_error(exc))
    return interpret(probe, host, out, started, sent=sent)


def interpret(
    probe: Probe,
    host: HostTarget,
    out: CommandResult | None,
    started: float,
    error: str = "",
    sent: float | None = None,
) -> ProbeResult:
    """The ProbeResult of one probe's output (None: it could not run, `error` says why).

    `sent` is the bot's wall clock when the command was sent; a clocked probe's facts get it
    with the time now (`bot_clock`): the host read its clock somewhere in between.
    """
    received = time.time()
    # One redactor for everything this result keeps: its count is what the report shows.
    redactor = Redactor()

    def result(
        ok: bool,
        *,
        facts: Facts | None = None,
        error: str = "",
        raw: str = "",
        truncated: bool = False,
    ) -> ProbeResult:
        return ProbeResult(
            probe.name,
            host.name,
            ok,
            facts=redactor.data(facts or {}),
            error=redactor.text(error),
            duration_ms=int((time.monotonic() - started) * 1000),
            area=probe.area,
            raw=raw,
            truncated=truncated,
            redacted=redactor.count,
        )

    if out is None:
        return result(False, error=error)
    if "\0" in out.stdout:  # never text (a /proc cmdline's separators): before redaction,
        out = replace(out, stdout=out.stdout.replace("\0", " "))  # so `--password\0x` is seen
    raw = probe.stored_raw(redactor.text(out.stdout + (out.stderr if probe.raw_stderr else "")))
    if out.timed_out:
        return result(
            False, error=f"timed out after {probe.timeout_s:g}s", raw=raw, truncated=out.truncated
        )
    try:
        facts = probe.parse(out)
    except (ValueError, KeyError, IndexError) as exc:
        why = out.stderr.strip().splitlines()[-1:] or [str(exc)]
        status = f"exit {out.exit_status}: " if out.exit_status else "could not parse output: "
        return result(False, error=status + why[0], raw=raw, truncated=out.truncated)
    if probe.clocked and sent is not None:
        facts = {**facts, "bot_clock": {"sent": round(sent, 6), "received": round(received, 6)}}
    return result(True, facts=facts, raw=raw, truncated=out.truncated)


def made_from_others(
    probes: Sequence[Probe],
) -> dict[str, tuple[str, Callable[..., CommandResult]]]:
    """Probe name -> (source, make) for each probe whose output, run with `probes` in one
    batch, is made from another's (Probe.reuses): it sends no command of its own."""
    sending = {p.name for p in probes if p.reuses is None}
    return {p.name: p.reuses for p in probes if p.reuses and p.reuses[0] in sending}


async def run_probes(
    executor: Executor, probes: Sequence[Probe], host: HostTarget
) -> list[ProbeResult]:
    """Run every probe at once over the executor's one connection, in the given order.

    An executor that can (SSH) runs them all in one remote session (ssh_probes.batch), so
    the host's login shell starts once per triage rather than once per probe.
    """
    many = getattr(executor, "run_many", None)
    # A probe with stdin runs on its own: the batch session has one stdin for all of them.
    if many is None or len(probes) < 2 or any(p.stdin is not None for p in probes):
        return list(await asyncio.gather(*(run_probe(executor, p, host) for p in probes)))
    made = made_from_others(probes)
    own = [p for p in probes if p.name not in made]
    started = time.monotonic()
    sent = time.time()
    try:
        outs = await many([p.argv(host) for p in own], [p.timeout_s for p in own])
    except ExecutorError as exc:
        return [interpret(p, host, None, started, unreachable_error(exc)) for p in probes]
    by_name = {p.name: (p, out) for p, out in zip(own, outs, strict=True)}
    results = []
    for probe in probes:
        if probe.name not in made:
            results.append(interpret(probe, host, by_name[probe.name][1], started, sent=sent))
            continue
        source_name, make = made[probe.name]
        source, out = by_name[source_name]
        # A timeout is the source's: its limit is the one the host enforced.
        limited = replace(probe, timeout_s=source.timeout_s)
        results.append(interpret(limited, host, make(out), started, sent=sent))
    return results
