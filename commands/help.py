"""`help CODE`: a finding code's catalog entry; `help codes`: every code, by area."""

from __future__ import annotations

from commands.knowledge.catalog import CATALOG, entry, near, render
from ssh_probes.errors import InputError

CODE_SHAPE_MAX = 64


def codes_list() -> str:
    """Every catalogued code with its title, grouped by area."""
    lines: list[str] = []
    for area in sorted({c.area for c in CATALOG.values()}):
        lines.append(f"{area}:")
        lines += [f"  {c.code:26} {c.title}" for c in CATALOG.values() if c.area == area]
    return "\n".join(lines)


def explain(word: str) -> str:
    """The catalog entry of `word`; a one-line InputError (with near codes) when there is none."""
    text = word.strip()
    if text.lower() in ("codes", "code", "findings"):
        return codes_list()
    found = entry(text)
    if found is not None:
        return render(found)
    shown = text[:CODE_SHAPE_MAX].encode("ascii", "replace").decode()
    alike = near(text)
    hint = f"; did you mean {', '.join(alike)}?" if alike else "; `help codes` lists them all"
    raise InputError(f"no finding code {shown!r} in the catalog{hint}")
