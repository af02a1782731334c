"""The finding catalog: every code triagebot can report, what it means and what to do.

Codes are a contract with users (alerts, runbooks and `--json` consumers match on them):
new codes may be added, existing ones keep their meaning. Each code is a `Code` value
declared beside the rule that emits it (ssh_probes/rules/*, commands/dns/codes.py,
commands/web/codes.py, commands/fleet/codes.py); this module only assembles them, so a
rule cannot emit a code that has no entry. A rule's Finding carries the specific fix (with
the host's own numbers and paths); the catalog holds the general entry shown by
`triagebot help CODE` and `/triagebot help CODE`.
"""

from __future__ import annotations

from functools import cache

from commands.dns import codes as dns_codes
from commands.fleet import codes as fleet_codes
from commands.web import codes as web_codes
from ssh_probes.codes import Code

Entry = Code  # the name the catalog's readers have always used


def _assemble(*groups: tuple[Code, ...]) -> dict[str, Code]:
    catalog: dict[str, Code] = {}
    for group in groups:
        for code in group:
            if catalog.get(code.code, code) is not code:
                raise RuntimeError(f"finding code {code.code} is declared twice")
            catalog[code.code] = code
    return catalog


# The commands' own codes (a few host codes among them: the same Code objects). An entry
# found here is the catalog's own; the host checks' codes (ssh_probes.checks, every probe
# module: ~0.1 s of imports) are assembled only when a lookup or a listing needs them, so
# rendering a dig or an http report does not load them.
COMMAND_CODES: dict[str, Code] = _assemble(dns_codes.CODES, web_codes.CODES, fleet_codes.CODES)


@cache
def catalog() -> dict[str, Code]:
    """Every code: the host checks', then the commands' (a code declared twice raises)."""
    from ssh_probes.checks import CODES as HOST_CODES

    return _assemble(HOST_CODES, dns_codes.CODES, web_codes.CODES, fleet_codes.CODES)


def __getattr__(name: str) -> dict[str, Code]:
    """`CATALOG`: the whole catalog, assembled on first use."""
    if name == "CATALOG":
        return catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def entry(code: str) -> Code | None:
    """The catalog entry for `code`, if there is one."""
    key = code.strip().lower()
    return COMMAND_CODES.get(key) or catalog().get(key)


def render(code: Code) -> str:
    """The entry as a person reads it: `code` (area): title, why, what to do."""
    return f"{code.code} ({code.area}): {code.title}\nWhy: {code.why}\nWhat to do: {code.fix}"


def near(word: str, limit: int = 5) -> list[str]:
    """Catalogued codes that start with or contain `word`, for a 'did you mean' line."""
    w = word.strip().lower()
    starts = [c for c in catalog() if c.startswith(w)]
    return (starts or [c for c in catalog() if w and w in c])[:limit]
