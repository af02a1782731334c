"""What the CLI, the console and Slack call: resolve the target, run, diff, store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from bot.target_policy import guard_for
from commands import validate
from commands.hosts import HostSpec, key_file
from commands.report import Report
from ssh_probes.errors import InputError
from ssh_probes.model import LOCAL_HOST, HostTarget, ProbeConfig, SSHOptions

# The commands (and asyncssh, httpx, dnspython behind them) are imported by the runner that
# needs them, so `triagebot dig` does not pay for SSH and HTTP at start-up. The store
# (SQLAlchemy's ORM) likewise: the CLI imports it while a triage's sample window runs.
if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store
    from commands import triage
    from commands.web.request import HttpOptions


def triage_options(settings: Settings) -> triage.TriageOptions:
    """Translate settings into the command's options."""
    from commands import triage
    from ssh_probes.rules import Thresholds

    return triage.TriageOptions(
        ssh=ssh_options(settings),
        http=http_options(settings),
        # Settings carry every Thresholds and ProbeConfig field under the same name.
        thresholds=Thresholds(**{f.name: getattr(settings, f.name) for f in fields(Thresholds)}),
        probe_config=ProbeConfig(
            **{f.name: getattr(settings, f.name) for f in fields(ProbeConfig)}
        ),
    )


@dataclass(frozen=True)
class Who:
    """Who asked and where: stored with the run (and with audit events)."""

    source: str = "cli"  # cli | console | slack | scheduler
    requested_by: str | None = None
    channel: str | None = None


def host_target(spec: HostSpec, settings: Settings) -> HostTarget:
    """The probes' view of a registered host; one without a key uses TRIAGEBOT_SSH_KEY_FILE."""
    if spec.key_path or settings.ssh_key_file is None or spec.name == LOCAL_HOST:
        return spec.target()
    # Checked here, like --key at registration: an unreadable key is the user's InputError.
    return replace(spec, key_path=key_file(str(settings.ssh_key_file))).target()


async def record(store: Store, report: Report, settings: Settings, who: Who = Who()) -> Report:
    """Redact, diff with the previous run, store, and return the report with its run id."""
    from bot.runs.history import diff
    from bot.store.runs import RunRepo

    report = report.scrubbed()
    runs = RunRepo(store, raw_limit=settings.raw_output_store_bytes)
    changes = diff(report, await runs.previous(report.command, report.target))
    run_id = await runs.save(
        report, source=who.source, requested_by=who.requested_by, channel=who.channel
    )
    for observe in store.report_observers:
        observe(report)
    return report.with_run(run_id, changes)


async def triage_host(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who = Who()
) -> Report:
    """`triage NAME [port N]`: look the host up (unknown names are an InputError), run, store."""
    from bot.store.hosts import HostRepo
    from commands import triage

    request = triage.parse(words)
    spec = await HostRepo(store).get(request.host)
    if request.compare is not None:
        from bot.runs.compare import compare_host

        async def fresh(specs: Sequence[HostSpec]) -> list[Report]:
            return await triage_specs(store, settings, specs, who)

        options = triage_options(settings)
        compared = await compare_host(
            store, settings, spec, request.compare, fresh, options.thresholds
        )
        return await record(store, compared, settings, who)
    report = await triage.run(
        host_target(spec, settings), triage_options(settings), port=request.port, url=request.url,
        guard=guard_for(settings, who.source),
    )  # fmt: skip
    return await record(store, report, settings, who)


async def triage_group(
    store: Store, settings: Settings, selector: tuple[str, str], who: Who = Who()
) -> list[Report]:
    """Triage every registered host whose label matches, at most max_parallel_hosts at once."""
    from bot.store.hosts import HostRepo
    from commands import triage

    key, value = selector
    specs = [s for s in await HostRepo(store).list() if triage.selects(s.labels, key, value)]
    if not specs:
        raise InputError(f"no registered host has label {key}={value}")
    return await triage_specs(store, settings, specs, who)


async def triage_each(
    settings: Settings, specs: Sequence[HostSpec], who: Who = Who()
) -> list[Report]:
    """Triage these hosts at once (at most max_parallel_hosts), in their order; nothing is
    stored (triage_specs stores them; the CLI's fast path stores them with sqlite3)."""
    import asyncio

    from commands import triage

    options = triage_options(settings)
    gate = asyncio.Semaphore(settings.max_parallel_hosts)

    guard = guard_for(settings, who.source)  # as one host's triage: the policy's targets

    async def one(spec: HostSpec) -> Report:
        async with gate:
            return await triage.run(host_target(spec, settings), options, guard=guard)

    return list(await asyncio.gather(*(one(s) for s in specs)))


async def triage_specs(
    store: Store, settings: Settings, specs: Sequence[HostSpec], who: Who = Who()
) -> list[Report]:
    """Triage these hosts at once (at most max_parallel_hosts), store each run, in order."""
    reports = await triage_each(settings, specs, who)
    return [await record(store, r, settings, who) for r in reports]


def ssh_options(settings: Settings) -> SSHOptions:
    """The SSH limits from settings."""
    return SSHOptions(
        connect_timeout_s=settings.ssh_connect_timeout_s,
        command_timeout_s=settings.ssh_command_timeout_s,
        output_cap_bytes=settings.ssh_output_cap_bytes,
        max_channels=settings.ssh_max_channels,
    )


def http_options(settings: Settings) -> HttpOptions:
    """The http limits from settings."""
    from commands.web.request import HttpOptions

    return HttpOptions(
        connect_timeout_s=settings.http_connect_timeout_s,
        read_timeout_s=settings.http_read_timeout_s,
        total_timeout_s=settings.http_total_timeout_s,
        slow_threshold_s=settings.http_slow_threshold_s,
        ca_file=str(settings.ca_file) if settings.ca_file else None,
        tls_expiry_warning_days=settings.tls_expiry_warning_days,
        tls_expiry_critical_days=settings.tls_expiry_critical_days,
    )


async def http_check(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who = Who()
) -> Report:
    """`http URL [--resolve H:P:IP] [--from HOST] [--method M]`: check, compare, store."""
    from bot.store.hosts import HostRepo
    from commands import http
    from ssh_probes.executor import executor_for

    request = http.parse(validate.words_of(words))
    options = http_options(settings)
    guard = guard_for(settings, who.source)
    if request.from_host is None:
        report = await http.run(request, options, guard=guard)
    else:
        target = host_target(await HostRepo(store).get(request.from_host), settings)
        executor = executor_for(target, ssh_options(settings))
        try:
            report = await http.run(
                request, options, from_host=target, from_executor=executor, guard=guard
            )
        finally:
            await executor.close()
    return await record(store, report, settings, who)


async def dig_name(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who = Who()
) -> Report:
    """`dig DOMAIN [TYPE]... [@RESOLVER[:PORT]]... [--from HOST] [--trace]`: ask, explain, store.

    `dig watch|unwatch DOMAIN` is the digests' (bot.digests.command): the registry runs that."""
    from bot.store.hosts import HostRepo
    from commands import dig

    words = validate.words_of(words)
    request = dig.parse(words)
    options = dig.DigOptions(timeout_s=settings.dns_timeout_s, ssh=ssh_options(settings))
    target = None
    if request.from_host is not None:
        target = host_target(await HostRepo(store).get(request.from_host), settings)
    report = await dig.run(
        request, options, from_host=target, guard=guard_for(settings, who.source, "dig")
    )
    return await record(store, report, settings, who)


# A report command's runner, taking the words after the command (bot.commands names each).
# Each raises InputError for bad input, before anything runs.
Runner = Callable[["Store", "Settings", Sequence[str], Who], Awaitable[Report]]
