"""The `triagebot` executable's first step: answer an unknown host before loading the CLI.

Typer (with the pydantic it coerces parameters with), the settings, SQLAlchemy and asyncssh
cost 0.2-0.6 s of start-up. `triagebot triage nosuchhost` needs none of them: the argv is
checked here with the standard library, the host looked up in SQLite read-only
(bot.store.quick), and only when that cannot answer does the full CLI (bot.cli) run.
"""

from __future__ import annotations

import sys

from ssh_probes.errors import InputError


def unknown_host(host: str) -> InputError | None:
    """The error `triage HOST` ends with when HOST is surely not registered, else None.

    An invalid name gets triage.parse's own error; `local`, label selectors and anything the
    thin read cannot tell for sure get None (the full path decides).
    """
    from commands.validate import host_name
    from ssh_probes.model import LOCAL_HOST

    if "=" in host:
        return None  # a label selector: the full path reads every host
    try:
        name = host_name(host)  # the same check and message as triage.parse
    except InputError as exc:
        return exc
    if name == LOCAL_HOST:
        return None
    from bot.store.quick import database_url, registered_names, unknown_host_message

    url = database_url()
    names = registered_names(url, name) if url is not None else None
    return InputError(unknown_host_message(name, names)) if names is not None else None


def triage_host_word(args: list[str]) -> str | None:
    """HOST when argv is exactly `triage HOST` (with or without --json), else None."""
    if not args or args[0] != "triage":
        return None
    rest = [a for a in args[1:] if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-"):
        return None
    return rest[0]


def main(argv: list[str] | None = None) -> int:
    """Entry point: the fast answer when there is one, else the full CLI (bot.cli.main)."""
    args = sys.argv[1:] if argv is None else list(argv)
    host = triage_host_word(args)
    error = unknown_host(host) if host is not None else None
    if error is not None:
        from ssh_probes.redact import redact

        sys.stderr.write(f"error: {redact(str(error))}\n")
        return 2
    from bot.cli import main as full

    return full(args)


if __name__ == "__main__":
    sys.exit(main())
