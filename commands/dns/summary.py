"""Short human lines for dig's result facts (used by bot/render/summaries.py).

Kept free of dnspython imports: every renderer loads this module.
"""

from __future__ import annotations

from typing import Any

Facts = dict[str, Any]


def _answer(a: Facts) -> str:
    provider = a.get("provider") or {}
    tag = f"  ({provider['name']})" if provider.get("name") else ""
    return f"{a['name']} {a['ttl']} {a['type']} {a['value']}{tag}"


def query_lines(f: Facts) -> list[str]:
    """`A @127.0.0.1:53 NOERROR 0.4 ms` then one line per record."""
    head = f"{f['type']} @{f['resolver']}" + (" (system)" if f.get("system") else "")
    if f.get("error"):
        return [f"{head}: {f['error']}"]
    head += f" {f['rcode']} {f['time_ms']} ms" + (" aa" if f.get("authoritative") else "")
    if not f["answers"]:
        return [f"{head}: no records" if f["rcode"] == "NOERROR" else head]
    lines = [head] + ["  " + _answer(a) for a in f["answers"]]
    if f.get("cname_chain"):
        lines.append("  chain: " + " -> ".join(f["cname_chain"]))
    return lines


def ns_lines(f: Facts) -> list[str]:
    """One line per name server of the zone, then what they disagree on."""
    if f.get("error"):
        return [f"authoritative check: {f['error']}"]
    lines = [f"zone {f['zone']}: {len(f['servers'])} name server address(es)"]
    for s in f["servers"]:
        if s["error"]:
            lines.append(f"  {s['ns']} {s['address']}: {s['error']}")
            continue
        answers = ", ".join(s["answers"]) or s["rcode"]
        aa = "" if s["authoritative"] else " NOT authoritative"
        lines.append(f"  {s['ns']} {s['address']} serial {s['serial']}{aa}: {answers}")
    lines += [f"  ! {p}" for p in f.get("problems", [])]
    return lines


def trace_lines(f: Facts) -> list[str]:
    """Each delegation step, then the answer or where it broke."""
    lines = []
    for step in f["steps"]:
        where = f"zone {step['zone']}"
        if "referral" in step:
            ref = step["referral"]
            lines.append(f"{where} @{step['asked']} -> {ref['zone']} ({', '.join(ref['ns'])})")
        elif "answers" in step:
            got = "; ".join(_answer(a) for a in step["answers"]) or step.get("rcode", "")
            lines.append(f"{where} @{step['asked']}: {got}")
        else:
            lines.append(f"{where}: " + ("; ".join(step.get("errors", [])) or "no answer"))
    if f.get("broke_at"):
        lines.append(f"broke at zone {f['broke_at']['zone']}: {f['broke_at']['reason']}")
    return lines


def from_lines(f: Facts) -> list[str]:
    """The host's getent and dig answers next to the bot's."""
    if f.get("error"):
        return [f"{f['host']}: {f['error']}"]
    getent, dig = f["getent"], f["dig"]
    lines = [f"{f['host']} getent: " + (", ".join(getent["addresses"]) or getent["error"] or "-")]
    if dig.get("available"):
        lines.append(f"{f['host']} dig: " + (", ".join(dig["addresses"]) or dig["error"] or "-"))
    lines.append("bot: " + (", ".join(f.get("bot_addresses", [])) or "-"))
    return lines


KINDS = {"query": query_lines, "ns_check": ns_lines, "trace": trace_lines, "from": from_lines}


def dig_lines(facts: Facts) -> list[str]:
    """Lines for any dig result, by its `kind`."""
    fn = KINDS.get(facts.get("kind", ""))
    return fn(facts) if fn else [f"{k}: {v}" for k, v in facts.items()]
