"""`triagebot dig ...` without Typer, pydantic-settings or SQLAlchemy, when nothing needs them.

The full path (bot.cli.typer_app -> bot.commands.dig -> bot.service.dig_name) imports Typer,
pydantic-settings and SQLAlchemy's ORM before the first DNS question (~1.4 s of a ~2 s
process on a slow 2-core machine). Here, for the default SQLite store at the head revision:

- the settings are read without pydantic when the environment sets none of them (besides
  TRIAGEBOT_DATABASE_URL; Slack's tokens are not dig's and cannot fail validation): they
  are then the documented defaults (tests/integration/test_cli_fast_path.py compares them
  with load_settings()); any TRIAGEBOT_* variable -> load_settings() itself, with its
  validation and its errors;
- the words are checked by dig.parse, the --from host read by bot.store.quick, the guard
  built by bot.target_policy, and dig.run asks everything, as bot.service.dig_name does;
- the run is redacted, diffed and stored like bot.service.record, through
  bot.store.quick_runs (stdlib sqlite3, one transaction); when that cannot store it (the
  schema moved, a SQLite error) the ORM path records the same report, so its own errors
  are the ones reported. The store's imports are then stdlib sqlite3 and ~10 ms of ours:
  importing them on a thread while the questions run (as triage does with the ORM) was
  measured and gained nothing here (the questions keep the one interpreter busy).

Anything else returns False before a question is asked and the full CLI runs as before.
"""

from __future__ import annotations

ALLOWED_OPTIONS = ("--trace", "--from")


def dig_words(args: list[str]) -> list[str] | None:
    """The words after `dig` (without --json) when argv is a plain `dig ...`, else None.

    Plain: every word starting with '-' is --json, --trace, --from or --from=HOST. Anything
    else (--help, --, an unknown option) is Typer's or dig.parse's to answer: the full path.
    """
    if not args or args[0] != "dig":
        return None
    words = [a for a in args[1:] if a != "--json"]
    for word in words:
        if word.startswith("-") and word not in ALLOWED_OPTIONS and not word.startswith("--from="):
            return None
    return words


def run_dig(words: list[str], as_json: bool) -> bool:
    """Run `dig WORDS` as the full CLI would; False (nothing done) when this path cannot."""
    import asyncio

    from bot.cli.quick_record import fast_store
    from bot.store.quick import host_spec, registered_names, unknown_host_message
    from commands import validate, watch

    if watch.is_watch("dig", words):
        return False
    found = fast_store()
    if found is None:
        return False
    url, settings = found
    from bot.service import Who, host_target, ssh_options
    from bot.target_policy import guard_for
    from commands import dig
    from commands.hosts import LOCAL_SPEC
    from ssh_probes.errors import InputError
    from ssh_probes.model import LOCAL_HOST

    who = Who()
    request = dig.parse(validate.words_of(words))
    options = dig.DigOptions(timeout_s=settings.dns_timeout_s, ssh=ssh_options(settings))
    target = None
    if request.from_host is not None:
        name = request.from_host
        spec = LOCAL_SPEC if name == LOCAL_HOST else host_spec(url, name)
        if spec is None:
            known = registered_names(url, name)
            if known is None:
                return False  # the thin read cannot tell: the full path looks it up
            raise InputError(unknown_host_message(name, known))
        target = host_target(spec, settings)
    guard = guard_for(settings, who.source, "dig")
    report = asyncio.run(dig.run(request, options, from_host=target, guard=guard))
    from bot.cli.output import print_report
    from bot.cli.quick_record import record_either

    stored = record_either(url, report, settings, who)
    print_report(stored, as_json)
    return True
