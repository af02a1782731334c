"""The `triagebot` executable's first step: answer without loading the CLI when it can.

Typer (with the pydantic it coerces parameters with), the settings, SQLAlchemy and asyncssh
cost 0.2-0.6 s of start-up. `triagebot triage nosuchhost` needs none of them: the argv is
checked here with the standard library, the host looked up in SQLite read-only
(bot.store.quick), and only when that cannot answer does the full CLI (bot.cli) run.
`triagebot dig ...` likewise runs and is stored without them (bot.cli.dig_fast).
"""

from __future__ import annotations

import sys

from ssh_probes.errors import TriagebotError


def triage_host_word(args: list[str]) -> str | None:
    """HOST when argv is exactly `triage HOST` (with or without --json), else None."""
    if not args or args[0] != "triage":
        return None
    rest = [a for a in args[1:] if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-"):
        return None
    return rest[0]


def _import_store() -> None:
    """SQLAlchemy's ORM, the run store, typer: imported while the triage's window runs."""
    import bot.cli.common
    import bot.runs.history
    import bot.store.db
    import bot.store.runs  # noqa: F401


def triage_registered(host: str, as_json: bool) -> bool:
    """`triage HOST` for a host the thin read found: run, then store and print; False when
    the thin read cannot tell (the full CLI then runs it as before).

    The full path opens the store (SQLAlchemy, ~0.5 s of imports) before the triage; here
    the host comes from bot.store.quick, the triage starts first, and the store is imported
    in a thread while the remote sample window runs (this process is idle then), then opened
    and migrated if needed, and the run recorded exactly as bot.service.triage_host does.
    """
    import asyncio
    import threading

    from bot.settings import load_settings
    from bot.store.quick import database_url, host_spec
    from commands.validate import host_name

    if "=" in host:
        return False  # a label selector: the full path reads every host
    url = database_url()
    spec = host_spec(url, host_name(host)) if url is not None else None
    settings = load_settings()
    if spec is None or settings.database_url != url:
        return False
    from bot.service import Who, host_target, record, triage_options
    from bot.target_policy import guard_for
    from commands import triage

    who = Who()
    target, options = host_target(spec, settings), triage_options(settings)
    guard = guard_for(settings, who.source)
    loader = threading.Thread(target=_import_store, name="import-store", daemon=True)
    loader.start()
    report = asyncio.run(triage.run(target, options, guard=guard))
    loader.join()
    from bot.cli.common import with_store
    from bot.cli.output import print_report

    stored = with_store(lambda store, s: record(store, report, s, who))
    print_report(stored, as_json)
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point: the fast answer when there is one, else the full CLI (bot.cli.main)."""
    args = sys.argv[1:] if argv is None else list(argv)
    host = triage_host_word(args)
    try:
        if args[:1] == ["dig"]:
            from bot.cli.dig_fast import dig_words, run_dig

            words = dig_words(args)
            if words is not None and run_dig(words, "--json" in args):
                return 0
        error = None
        if host is not None:
            from bot.store.quick import unknown_host

            error = unknown_host(host)
        if error is not None:
            raise error
        if host is not None and triage_registered(host, "--json" in args):
            return 0
    except TriagebotError as exc:
        from ssh_probes.redact import redact

        sys.stderr.write(f"error: {redact(str(exc))}\n")
        return 2
    from bot.cli.typer_app import main as full

    return full(args)


if __name__ == "__main__":
    sys.exit(main())
