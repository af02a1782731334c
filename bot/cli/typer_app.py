"""The `triagebot` command line: the same commands as Slack, for a terminal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import WORDS, JsonFlag, print_json, with_store
from bot.cli.digest import digest_app, scheduler_app
from bot.cli.hosts import hosts_app
from bot.cli.output import print_report
from ssh_probes.errors import TriagebotError

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store

app = typer.Typer(
    help="Incident triage from the terminal: hosts over SSH, DNS, HTTP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: keeps `triagebot --help` near Python's start-up time
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(hosts_app, name="hosts")
app.add_typer(db_app, name="db")
app.add_typer(digest_app, name="digest")
app.add_typer(scheduler_app, name="scheduler")


@app.command()
def triage(
    host: Annotated[
        str, typer.Argument(help="A registered host name, `local`, or a label: group=web.")
    ],
    symptom: Annotated[
        list[str] | None,
        typer.Argument(
            help="`port N`: why is port N refused or timing out; `compare LABEL=VALUE`: "
            "how HOST differs from the other hosts with that label."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the incident routine on HOST (optionally about one port, or compared with its
    group) and print the report."""
    if not symptom:
        from bot.store.quick import unknown_host

        error = unknown_host(host)  # without the store's imports (start-up time)
        if error is not None:
            raise error
    from bot.service import triage_group, triage_host
    from commands.triage import selector

    chosen = selector(host)
    if chosen is not None:
        if symptom:
            raise TriagebotError("a label selector takes no `port N`; triage one host for that")
        reports = with_store(lambda store, settings: triage_group(store, settings, chosen))
        if as_json:
            print_json([r.as_dict() for r in reports])
            return
        for r in reports:
            print_report(r, False)
        return
    words = [host, *(symptom or [])]
    report = with_store(lambda store, settings: triage_host(store, settings, words))
    print_report(report, as_json)


def _run_words(command: str, ctx: typer.Context, as_json: bool) -> None:
    """Run a registry command on the raw words, parsed by the command's own (Slack's) parser."""
    from bot.commands import run
    from bot.service import Who

    words = [w for w in ctx.args if w != "--json"]
    as_json = as_json or "--json" in ctx.args
    report = with_store(lambda store, settings: run(command, store, settings, words, Who()))
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


@app.command()
def history(
    target: Annotated[
        str | None, typer.Argument(help="A host name or target; all targets when omitted.")
    ] = None,
    since: Annotated[str, typer.Option(help="How far back: 30m, 24h, 7d.")] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """Past runs, newest first, with their worst finding."""
    from bot.runs.history_text import since as parse_since  # the same words as `/history`
    from bot.store.runs import RunRepo

    window = parse_since(since)
    start = datetime.now(UTC) - window
    rows = with_store(lambda store, _s: RunRepo(store).history(target, start))
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


@app.command("help")
def help_code(
    code: Annotated[
        str | None, typer.Argument(help="A finding code (disk.full), or `codes` for all.")
    ] = None,
) -> None:
    """What a finding code means and what to do about it (the catalog entry)."""
    from commands.help import codes_list, explain

    typer.echo(explain(code) if code else codes_list())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""

    async def work(store: Store, _s: Settings) -> str:
        return await store.upgrade()

    from bot.store.db import describe_url

    revision = with_store(work, migrate=False)
    from bot.settings import load_settings

    typer.echo(f"database {describe_url(load_settings().database_url)} at revision {revision}")


@app.command()
def start() -> None:
    """Start the bot the way `make run` does: Slack when tokens are set, else the console."""
    from bot.settings import load_settings

    settings = load_settings()
    if settings.slack_mode() != "console" and not settings.policy_file and not settings.admin_ids():
        from ssh_probes.errors import ConfigError

        # Closed by default: with neither, nobody at all could use the bot from Slack.
        raise ConfigError(
            "Slack mode needs TRIAGEBOT_POLICY_FILE or TRIAGEBOT_ADMINS (without a policy "
            "file the bot answers only its admins); see README, Quick start"
        )
    if settings.slack_mode() == "console":
        from bot.cli.console import run_console

        run_console(main)
        return
    from bot.ops.serve import run

    run(settings)  # Socket Mode with SLACK_APP_TOKEN, else HTTP on TRIAGEBOT_PORT


@app.command()
def console() -> None:
    """Type slash commands (`/triage local`) and see what Slack would get."""
    from bot.cli.console import run_console

    run_console(main)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes are one line on stderr and exit status 2."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="triagebot", standalone_mode=True)
    except TriagebotError as exc:
        from ssh_probes.redact import redact

        sys.stderr.write(f"error: {redact(str(exc))}\n")
        return 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
