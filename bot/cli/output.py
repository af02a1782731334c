"""How a report leaves the CLI: JSON on stdout, or rendered for the terminal.

Import-light (no Typer): the fast paths of bot.entry print with it too.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands.report import Report


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
