"""How a comparison says hosts and values: `web-2..web-5: 0; web-1: 4,112`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def host_list(names: Sequence[str]) -> str:
    """`web-2, web-3, web-4, db-1` -> `web-2..web-4, db-1` (consecutive numbers folded)."""
    out: list[str] = []
    run: list[tuple[str, int, str]] = []

    def flush() -> None:
        if len(run) >= 3:
            out.append(f"{run[0][2]}..{run[-1][2]}")
        else:
            out.extend(name for _, _, name in run)
        run.clear()

    for name in sorted(names, key=_order):
        m = _NUMBERED.match(name)
        if m and run and m[1] == run[-1][0] and int(m[2]) == run[-1][1] + 1:
            run.append((m[1], int(m[2]), name))
            continue
        flush()
        if m:
            run.append((m[1], int(m[2]), name))
        else:
            out.append(name)
    flush()
    return ", ".join(out)


def _order(name: str) -> tuple[str, int, str]:
    m = _NUMBERED.match(name)
    return (m[1], int(m[2]), name) if m else (name, -1, name)


def value(v: object, unit: str = "") -> str:
    """4112 -> `4,112`; 12.5 -> `12.5`; None -> `none`; lists joined."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}" if v != int(v) else f"{int(v):,}{unit}"
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v) or "none"
    return f"{v}{unit}"


def siblings_say(values: Mapping[str, object], unit: str = "", most: int = 4) -> str:
    """`web-2..web-5: 0` or `web-2, web-3: 12%; web-4: 15%`: hosts grouped by equal value."""
    by_value: dict[str, list[str]] = {}
    for host, v in values.items():
        by_value.setdefault(value(v, unit), []).append(host)
    parts = sorted(by_value.items(), key=lambda kv: (-len(kv[1]), _order(min(kv[1], key=_order))))
    shown = [f"{host_list(hosts)}: {text}" for text, hosts in parts[:most]]
    if len(parts) > most:
        rest = sum(len(hosts) for _, hosts in parts[most:])
        shown.append(f"{rest} more with other values")
    return "; ".join(shown)


def compared(host: str, mine: object, siblings: Mapping[str, object], unit: str = "") -> str:
    """`web-2..web-5: 0; web-1: 4,112`: the siblings' values, then the host's."""
    return f"{siblings_say(siblings, unit)}; {host}: {value(mine, unit)}"
