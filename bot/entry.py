"""The `triagebot` executable's first step: answer without loading the CLI when it can.

Typer (with the pydantic it coerces parameters with), the settings, SQLAlchemy and asyncssh
cost 0.2-0.6 s of start-up. `triagebot triage nosuchhost` needs none of them: the argv is
checked here with the standard library, the host looked up in SQLite read-only
(bot.store.quick), and only when that cannot answer does the full CLI (bot.cli) run.
`triagebot triage HOST|LABEL=VALUE` and `triagebot dig ...` likewise run and are stored
without Typer or the ORM (bot.cli.triage_fast, bot.cli.dig_fast).
"""

from __future__ import annotations

import os
import sys

from bot.cli.triage_fast import triage_word
from ssh_probes.errors import TriagebotError


def _done(as_program: bool) -> int:
    """A fast path finished (stored, printed): as the program, end the process now.

    Python's own teardown of the ~600 modules a triage loads (asyncssh, cryptography,
    pydantic) takes 0.12-0.2 s on a slow machine and does nothing the user needs: the run is
    committed and its connection closed, the loop and threads are done. Output is flushed
    first (a flush that fails raises here, and Python reports it as it always does).
    """
    if not as_program:
        return 0
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: the fast answer when there is one, else the full CLI (bot.cli.main)."""
    args = sys.argv[1:] if argv is None else list(argv)
    host = triage_word(args)
    try:
        if args[:1] == ["dig"]:
            from bot.cli.dig_fast import dig_words, run_dig

            words = dig_words(args)
            if words is not None and run_dig(words, "--json" in args):
                return _done(argv is None)
        error = None
        if host is not None:
            from bot.store.quick import unknown_host

            error = unknown_host(host)
        if error is not None:
            raise error
        if host is not None:
            from bot.cli.triage_fast import run_triage

            if run_triage(host, "--json" in args):
                return _done(argv is None)
    except TriagebotError as exc:
        from ssh_probes.redact import redact

        sys.stderr.write(f"error: {redact(str(exc))}\n")
        return 2
    from bot.cli.typer_app import main as full

    return full(args)


if __name__ == "__main__":
    sys.exit(main())
