"""`triagebot triage HOST|LABEL=VALUE [--json]` without Typer or SQLAlchemy's ORM.

The full path (bot.cli.typer_app -> bot.service.triage_host / triage_group) imports Typer and
the ORM (~1 s of CPU on a slow machine) before the first packet. Here, for the default SQLite
store at the head revision:

- the host (or every host with the label) comes from bot.store.quick, read-only;
- the settings are their defaults when the environment sets none (bot.settings_light, no
  pydantic), else load_settings with its validation and errors; the hosts are triaged by
  bot.service.triage_each (at once, at most max_parallel_hosts, the CLI's guard), as the
  full path's triage_specs does;
- for one host over SSH the connection starts opening (SSHExecutor.start_connect) before
  the routine's probes and rules are imported, on a thread, and triage.run takes it over;
- while the remote sample window runs (this process is idle then) a thread imports what
  comes after it: the diff, the sqlite3 writer and, for text, the terminal renderer;
- each run is redacted, diffed and stored like bot.service.record (bot.cli.quick_record:
  stdlib sqlite3 in one transaction, the ORM when that cannot), in the hosts' order.

Anything it cannot answer for sure (PostgreSQL, a URL with options, no file yet, a schema
behind the head, a host the thin read cannot find) returns False before anything runs, and
the full CLI takes over as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from commands.hosts import HostSpec
    from commands.report import Report
    from ssh_probes.executor import SSHExecutor
    from ssh_probes.model import HostTarget


def triage_word(args: list[str]) -> str | None:
    """HOST (or LABEL=VALUE) when argv is exactly `triage WORD` with or without --json."""
    if not args or args[0] != "triage":
        return None
    rest = [a for a in args[1:] if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-"):
        return None
    return rest[0]


def _before_run() -> None:
    """What the routine needs before it runs (its probes and rules, the service layer),
    imported on a thread while one host's connection is being opened."""
    import importlib

    for name in ["commands.triage", "bot.service", "bot.target_policy"]:
        importlib.import_module(name)


def _after_window(as_json: bool) -> None:
    """What the run needs once the window is over, imported while it runs."""
    import importlib

    names = ["bot.cli.quick_record", "bot.runs.history", "bot.store.quick_runs"]
    if not as_json:
        names += ["rich.console", "bot.render.terminal"]
    for name in names:
        importlib.import_module(name)


def _specs(url: str, word: str) -> list[HostSpec] | None:
    """The hosts `word` names, as the full path finds them; None when the thin read cannot
    tell. A label nobody has is the full path's InputError."""
    from bot.store.quick import host_spec, host_specs
    from commands.hosts import LOCAL_SPEC, selector, selects
    from commands.validate import host_name
    from ssh_probes.errors import InputError
    from ssh_probes.model import LOCAL_HOST

    chosen = selector(word)  # an invalid label: the full path's own error
    if chosen is None:
        name = host_name(word)
        spec = LOCAL_SPEC if name == LOCAL_HOST else host_spec(url, name)
        return None if spec is None else [spec]
    key, value = chosen
    every = host_specs(url)
    if every is None:
        return None
    specs = [s for s in every if selects(s.labels, key, value)]
    if not specs:
        raise InputError(f"no registered host has label {key}={value}")
    return specs


def _early(specs: list[HostSpec], settings: Settings) -> tuple[HostTarget, SSHExecutor] | None:
    """One host over SSH: its target and executor, made before the routine's modules are
    imported, so that its connection opens meanwhile (SSHExecutor.start_connect)."""
    from ssh_probes.model import LOCAL_HOST

    if len(specs) != 1 or specs[0].name == LOCAL_HOST:
        return None
    from bot.service import host_target, ssh_options
    from ssh_probes.executor import SSHExecutor

    target = host_target(specs[0], settings)
    return target, SSHExecutor(target, ssh_options(settings))


def run_triage(word: str, as_json: bool) -> bool:
    """Triage, store and print as the full CLI would; False (nothing done) when this path
    cannot."""
    import asyncio
    import threading

    from bot.cli.quick_record import fast_store

    found = fast_store()  # the settings first, as the full path reads them (with_store)
    if found is None:
        return False
    url, settings = found
    specs = _specs(url, word)
    if specs is None:
        return False
    early = _early(specs, settings)
    loader = threading.Thread(target=_after_window, args=(as_json,), name="after-window")
    loader.daemon = True

    async def every() -> list[Report]:
        if early is not None:
            early[1].start_connect()
        await asyncio.to_thread(_before_run)
        loader.start()
        from bot.service import Who, triage_each, triage_options
        from bot.target_policy import guard_for
        from commands import triage

        if early is None:
            return await triage_each(settings, specs, Who())
        target, executor = early
        try:
            options, guard = triage_options(settings), guard_for(settings, Who().source)
        except BaseException:
            await executor.close()
            raise
        return [await triage.run(target, options, guard=guard, executor=executor)]

    reports = asyncio.run(every())
    loader.join()
    from bot.cli.output import print_json, print_report
    from bot.cli.quick_record import record_either
    from bot.service import Who

    who = Who()
    stored = [record_either(url, r, settings, who) for r in reports]
    if "=" not in word:
        print_report(stored[0], as_json)
    elif as_json:
        print_json([r.as_dict() for r in stored])
    else:
        for r in stored:
            print_report(r, False)
    return True
