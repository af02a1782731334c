"""`triagebot console`: a text backend that takes slash-command lines like Slack would."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TextIO

from bot.commands import REGISTRY

SLASH_COMMANDS = tuple(REGISTRY)  # every chat command, as in Slack
HELP = """Commands (as in Slack):
  /triage HOST            run the incident routine on a registered host or `local`
  /triage HOST port N     ... and answer why port N is refused or timing out
  /triage HOST compare group=web
                          ... and how HOST differs from the other hosts labelled group=web
  /dig DOMAIN [TYPE]... [@RESOLVER[:PORT]]... [--from HOST] [--trace]
                          what a name resolves to, through which CDN, and what that means
  /http URL [--resolve HOST:PORT:IP] [--from HOST] [--method GET|HEAD]
                          refused, timeout, 5xx or TLS, with the phases timed
  /dig watch|unwatch DOMAIN  the domains every digest follows
  /triage group=web       every registered host with that label
  /history [TARGET]       past runs
  /hosts list             registered hosts
  /hosts show NAME        one host's entry
  /hosts add NAME --address ADDR [--port 22] [--user U] [--key PATH] --host-key '...'
  /hosts remove NAME
  /digest list|add|remove|run ...   scheduled digests
  help CODE               what a finding code means and what to do (help codes: all)
  help                    this text
  quit                    leave (Ctrl-D works too)"""


def to_argv(line: str) -> list[str] | None:
    """The CLI argv for one console line, [] for a blank line, None to quit."""
    text = line.strip()
    if not text:
        return []
    if text in ("quit", "exit", "/quit"):
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot read that line: {exc}") from None
    head = words[0].lstrip("/")
    if head in ("help", "triagebot") and len(words) == 1:
        return ["help"]
    if head == "triagebot" and words[1:2] == ["help"]:
        words = words[1:]
        head = "help"
    if head == "help":
        return ["help", *words[1:2]]
    if head not in SLASH_COMMANDS:
        raise ValueError(f"unknown command {words[0]!r}; type `help`")
    return [head, *words[1:]]


def run_console(main: Callable[[list[str]], int], stdin: TextIO | None = None) -> None:
    """Read lines until EOF or `quit`; each runs exactly as the CLI would run it (`main`)."""
    source = stdin or sys.stdin
    interactive = source.isatty()
    if interactive:
        print("triagebot console: type `/triage local`, `help` or `quit`.")
    while True:
        if interactive:
            print("triagebot> ", end="", flush=True)
        line = source.readline()
        if not line:
            break
        try:
            argv = to_argv(line)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        if argv is None:
            break
        if argv == ["help"]:
            print(HELP)
        elif argv:
            main(argv)
