"""The `triagebot` command line: the same commands as Slack, for a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli_digest import digest_app, scheduler_app
from ssh_probes.errors import TriagebotError

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store
    from commands.report import Report

T = TypeVar("T")

app = typer.Typer(
    help="Incident triage from the terminal: hosts over SSH, DNS, HTTP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: keeps `triagebot --help` near Python's start-up time
)
hosts_app = typer.Typer(
    help="Manage the host registry.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(hosts_app, name="hosts")
app.add_typer(db_app, name="db")
app.add_typer(digest_app, name="digest")
app.add_typer(scheduler_app, name="scheduler")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _with_store(work: Callable[[Store, Settings], Awaitable[T]], migrate: bool = True) -> T:
    """Open the configured database (migrating it if behind), run `work`, close."""
    import asyncio

    from bot.settings import load_settings
    from bot.store.db import Store

    settings = load_settings()

    async def go() -> T:
        store = Store(settings.database_url)
        try:
            if migrate:
                await store.ensure_schema()
            return await work(store, settings)
        finally:
            await store.close()

    return asyncio.run(go())


def print_json(data: Any) -> None:
    """JSON on stdout, one document."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_report(report: Report, as_json: bool) -> None:
    """A report as JSON or rendered for the terminal."""
    if as_json:
        print_json(report.as_dict())
        return
    from rich.console import Console

    from bot.render.terminal import render

    Console().print(render(report))


@app.command()
def triage(
    host: Annotated[
        str, typer.Argument(help="A registered host name, `local`, or a label: group=web.")
    ],
    symptom: Annotated[
        list[str] | None, typer.Argument(help="`port N`: why is port N refused or timing out.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the incident routine on HOST (optionally about one port) and print the report."""
    from bot.service import triage_group, triage_host
    from commands.triage import selector

    chosen = selector(host)
    if chosen is not None:
        if symptom:
            raise TriagebotError("a label selector takes no `port N`; triage one host for that")
        reports = _with_store(lambda store, settings: triage_group(store, settings, chosen))
        if as_json:
            print_json([r.as_dict() for r in reports])
            return
        for r in reports:
            print_report(r, False)
        return
    words = [host, *(symptom or [])]
    report = _with_store(lambda store, settings: triage_host(store, settings, words))
    print_report(report, as_json)


WORDS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _run_words(command: str, ctx: typer.Context, as_json: bool) -> None:
    """Run a COMMANDS entry on the raw words, parsed by the command's own (Slack's) parser."""
    from bot.service import COMMANDS, Who

    words = [w for w in ctx.args if w != "--json"]
    as_json = as_json or "--json" in ctx.args
    runner = COMMANDS[command]
    report = _with_store(lambda store, settings: runner(store, settings, words, Who()))
    print_report(report, as_json)


@app.command(context_settings=WORDS)
def http(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """http URL [--resolve HOST:PORT:IP]... [--from HOST] [--method GET|HEAD]: why it fails."""
    _run_words("http", ctx, as_json)


@app.command(context_settings=WORDS)
def dig(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """dig DOMAIN [TYPE]... [@RESOLVER[:PORT]]... [--from HOST] [--trace]: explain a name."""
    _run_words("dig", ctx, as_json)


ranges_app = typer.Typer(help="CDN and cloud IP ranges.", no_args_is_help=True)
app.add_typer(ranges_app, name="ranges")


@ranges_app.command("update")
def ranges_update() -> None:
    """Fetch the providers' published IP ranges (needs internet) and rewrite the data files."""
    import asyncio

    import httpx

    from commands.dns.ranges import RANGES_DIR, update_ranges
    from ssh_probes.errors import InputError

    async def go() -> dict[str, int]:
        async with httpx.AsyncClient(timeout=20, follow_redirects=True) as client:
            return await update_ranges(RANGES_DIR, client)

    try:
        counts = asyncio.run(go())
    except (httpx.HTTPError, ValueError) as exc:
        raise InputError(f"ranges update failed, files unchanged: {exc}") from None
    for key, n in sorted(counts.items()):
        typer.echo(f"{key:20} {n} prefixes")


@hosts_app.command("add")
def hosts_add(
    name: Annotated[str, typer.Argument(help="Registry name, e.g. web-1.")],
    address: Annotated[str, typer.Option(help="IP address or DNS name.")],
    port: Annotated[int, typer.Option(help="SSH port.")] = 22,
    user: Annotated[str, typer.Option(help="SSH user.")] = "root",
    key: Annotated[str | None, typer.Option(help="Private key file.")] = None,
    known_hosts: Annotated[
        str | None, typer.Option("--known-hosts", help="known_hosts file holding its key.")
    ] = None,
    host_key: Annotated[
        list[str] | None, typer.Option("--host-key", help="'ssh-ed25519 AAAA...' to pin.")
    ] = None,
    expect_port: Annotated[
        list[int] | None, typer.Option("--expect-port", help="A port that must listen.")
    ] = None,
    log: Annotated[list[str] | None, typer.Option("--log", help="A log file to read.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="K=V.")] = None,
) -> None:
    """Register a host (its host key is pinned; nothing is trusted on first use)."""
    from bot.settings import load_settings
    from bot.store.hosts import HostRepo
    from commands.hosts import build_spec

    configured = load_settings().ssh_known_hosts_file  # TRIAGEBOT_SSH_KNOWN_HOSTS_FILE
    if not known_hosts and not host_key and configured:
        known_hosts = str(configured)
    spec = build_spec(
        name,
        address=address,
        port=port,
        user=user,
        key=key,
        known_hosts=known_hosts,
        host_keys=host_key or (),
        expect_ports=expect_port or (),
        logs=log or (),
        labels=label or (),
    )
    _with_store(lambda store, _s: HostRepo(store).add(spec))
    typer.echo(f"added {spec.name} ({spec.user}@{spec.address}:{spec.port})")


def _host_dict(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "address": spec.address,
        "port": spec.port,
        "user": spec.user,
        "key_path": spec.key_path,
        "host_keys": list(spec.host_keys),
        "expect_ports": list(spec.expect_ports),
        "logs": list(spec.logs),
        "labels": dict(spec.labels),
    }


@hosts_app.command("list")
def hosts_list(as_json: JsonFlag = False) -> None:
    """List registered hosts (`local` is always there)."""
    from bot.store.hosts import HostRepo
    from commands.hosts import LOCAL_SPEC

    specs = [LOCAL_SPEC, *_with_store(lambda store, _s: HostRepo(store).list())]
    if as_json:
        print_json([_host_dict(s) for s in specs])
        return
    for s in specs:
        where = "this machine" if s.name == "local" else f"{s.user}@{s.address}:{s.port}"
        ports = ",".join(map(str, s.expect_ports)) or "-"
        typer.echo(f"{s.name:20} {where:40} expect {ports}")


@hosts_app.command("show")
def hosts_show(name: str, as_json: JsonFlag = False) -> None:
    """Show one host's registry entry."""
    from bot.store.hosts import HostRepo

    spec = _with_store(lambda store, _s: HostRepo(store).get(name.lower()))
    data = _host_dict(spec)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key:13} {value}")


@hosts_app.command("import")
def hosts_import(
    kind: Annotated[str, typer.Argument(help="ansible (INI or YAML) or ssh-config.")],
    path: Annotated[str, typer.Argument(help="The inventory or ssh config file.")],
    known_hosts: Annotated[
        str | None,
        typer.Option("--known-hosts", help="Where host keys come from (~/.ssh/known_hosts)."),
    ] = None,
    trust_on_first_use: Annotated[
        bool,
        typer.Option(
            "--trust-on-first-use", help="Fetch missing host keys and print their fingerprints."
        ),
    ] = False,
    key: Annotated[str | None, typer.Option(help="Key file for hosts that name none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
) -> None:
    """Import hosts from an Ansible inventory or an ssh config; groups become labels."""
    import os

    from bot.store.hosts import HostRepo
    from commands.inventory_import import plan_import, read_inventory

    parsed = read_inventory(kind, path)
    from bot.settings import load_settings

    configured = load_settings().ssh_known_hosts_file  # wins over ~/.ssh/known_hosts
    home_kh = os.path.expanduser("~/.ssh/known_hosts")
    kh = known_hosts or (
        str(configured) if configured else (home_kh if os.path.exists(home_kh) else None)
    )

    async def work(store: Store, _s: Settings) -> Any:
        repo = HostRepo(store)
        plan = await plan_import(
            parsed,
            await repo.names(),
            known_hosts=kh,
            trust_on_first_use=trust_on_first_use,
            default_key=key,
        )
        if not dry_run and plan.add:
            await repo.add_many(plan.add)
        return plan

    plan = _with_store(work)
    verb = "would add" if dry_run else "added"
    for spec in plan.add:
        labels = f"  {spec.labels['group']}" if "group" in spec.labels else ""
        typer.echo(f"{verb:10} {spec.name:24} {spec.user}@{spec.address}:{spec.port}{labels}")
    for name, fingerprint in plan.trusted:
        typer.echo(f"{'trusted':10} {name:24} host key {fingerprint} (first use: verify it)")
    for name in plan.unchanged:
        typer.echo(f"{'unchanged':10} {name:24} already registered")
    for name in plan.no_key:
        typer.echo(
            f"{'skipped':10} {name:24} no known host key "
            f"({'in ' + kh if kh else 'no known_hosts file'}; --trust-on-first-use to fetch it)"
        )
    for note in plan.notes:
        typer.echo(f"{'note':10} {note}")


@hosts_app.command("remove")
def hosts_remove(name: str) -> None:
    """Remove a host from the registry (its history stays)."""
    from bot.store.hosts import HostRepo

    _with_store(lambda store, _s: HostRepo(store).remove(name.lower()))
    typer.echo(f"removed {name.lower()}")


def _since(text: str) -> timedelta:
    """`30m`, `24h`, `7d` -> a timedelta; anything else is an InputError."""
    import re

    from ssh_probes.errors import InputError

    match = re.fullmatch(r"(\d{1,5})([mhd])", text.strip())
    if not match:
        raise InputError(f"invalid --since {text[:20]!r}: use a number and m, h or d (24h)")
    value, unit = int(match[1]), match[2]
    return (
        timedelta(minutes=value)
        if unit == "m"
        else (timedelta(hours=value) if unit == "h" else timedelta(days=value))
    )


@app.command()
def history(
    target: Annotated[
        str | None, typer.Argument(help="A host name or target; all targets when omitted.")
    ] = None,
    since: Annotated[str, typer.Option(help="How far back: 30m, 24h, 7d.")] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """Past runs, newest first, with their worst finding."""
    from bot.store.runs import RunRepo

    window = _since(since)
    start = datetime.now(UTC) - window
    rows = _with_store(lambda store, _s: RunRepo(store).history(target, start))
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    if not rows:
        typer.echo(f"no runs{' of ' + target if target else ''} in the last {since}")
    for r in rows:
        worst = r.worst or "no findings"
        typer.echo(
            f"{r.started_at:%Y-%m-%d %H:%M:%S}  run {r.run_id:<6} {r.command} {r.target:24} "
            f"{r.status:8} {r.duration_ms:>6} ms  {worst}"
            + (f" (+{r.findings - 1} more)" if r.findings > 1 else "")
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""

    async def work(store: Store, _s: Settings) -> str:
        return await store.upgrade()

    from bot.store.db import describe_url

    revision = _with_store(work, migrate=False)
    from bot.settings import load_settings

    typer.echo(f"database {describe_url(load_settings().database_url)} at revision {revision}")


@app.command()
def start() -> None:
    """Start the bot the way `make run` does: Slack when tokens are set, else the console."""
    from bot.settings import load_settings

    settings = load_settings()
    if settings.slack_mode() == "console":
        from bot.console import run_console

        run_console(app)
        return
    from bot.serve import run

    run(settings)  # Socket Mode with SLACK_APP_TOKEN, else HTTP on TRIAGEBOT_PORT


@app.command()
def console() -> None:
    """Type slash commands (`/triage local`) and see what Slack would get."""
    from bot.console import run_console

    run_console(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes are one line on stderr and exit status 2."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="triagebot", standalone_mode=True)
    except TriagebotError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
