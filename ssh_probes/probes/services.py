"""Failed and restarting systemd units: `systemctl list-units --state=failed,activating`,
then `systemctl show` of just those units for their restart count.

The plain listing works on every systemd still in use (the JSON output needs v246+). The
script prints systemctl's exit status on a marker line and folds stderr into stdout, so a
host without a running systemd (containers, other inits) says why in the output itself.
A unit in `activating (auto-restart)` died and waits to be started again: a crash loop
before it reaches `failed`. NRestarts (systemd 235+) says how many times; `show` is asked
only of the (at most MAX_SHOWN) failed and activating units, so the cost stays bounded.
"""

from __future__ import annotations

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe
from ssh_probes.probes.clock import NO_SYSTEMD

MARK = "@@tb "
MAX_SHOWN = 20

# Host CPU (issue 18): without /run/systemd/system (systemd's own sd_booted test) systemctl
# could only answer NO_SYSTEMD, so it is not started (~6 ms of CPU); the facts are the same.
SCRIPT = r"""
if ! command -v systemctl >/dev/null 2>&1; then
  echo "@@tb unavailable systemctl: not found"; exit 0
fi
[ -d /run/systemd/system ] || { echo "@@tb nosystemd"; exit 0; }
out=$(systemctl list-units --state=failed,activating --no-legend --plain --no-pager 2>&1)
rc=$?
echo "@@tb exit $rc"
printf '%s\n' "$out"
[ "$rc" = 0 ] || exit 0
u= n=0
while read -r name _ active _; do
  case $active in activating|failed)
    [ "$n" -lt "$1" ] && u="$u ${name#● }" && n=$((n+1));;
  esac
done <<EOF
$out
EOF
[ -n "$u" ] || exit 0
echo "@@tb show"
systemctl show -p Id,ActiveState,SubState,NRestarts,Result --no-pager -- $u 2>&1
"""

HINT = (
    "This host has no running systemd (a container, or another init): check its services "
    "with their own supervisor (`docker ps -a`, `supervisorctl status`, `rc-status`)."
)
_NO_SYSTEMD = (
    "not been booted with systemd",
    "Failed to connect to bus",
    "Failed to get D-Bus connection",
    "systemd is not running",
)


def parse(result: CommandResult) -> Facts:
    """Failed and activating units: load/active/sub states, description, NRestarts, Result."""
    lines = result.stdout.splitlines()
    status = None
    body: list[str] = []
    shown: list[str] | None = None
    for line in lines:
        if shown is not None:
            shown.append(line.strip())
            continue
        if line.startswith(MARK + "show"):
            shown = []
            continue
        if line.startswith(MARK + "nosystemd"):
            return {"available": False, "why": NO_SYSTEMD, "hint": HINT}
        if line.startswith(MARK + "unavailable"):
            why = line[len(MARK + "unavailable") :].strip()
            return {"available": False, "why": why, "hint": HINT}
        if line.startswith(MARK + "exit "):
            status = int(line.split()[-1])
        elif line.strip():
            body.append(line.strip())
    if status is None:
        raise ValueError(f"no systemctl exit status in {result.stdout[:80]!r}")
    if status != 0:
        why = body[0] if body else f"systemctl exited {status}"
        if any(marker in why for marker in _NO_SYSTEMD):
            return {"available": False, "why": why, "hint": HINT}
        raise ValueError(why)
    state = _show(shown or [])
    failed: list[dict[str, object]] = []
    restarting: list[dict[str, object]] = []
    for line in body:
        fields = line.removeprefix("● ").split(None, 4)
        if len(fields) < 4:
            raise ValueError(f"unexpected systemctl line: {line[:80]!r}")
        unit, load, active, sub = fields[:4]
        entry: dict[str, object] = {
            "unit": unit,
            "load": load,
            "active": active,
            "sub": sub,
            "description": fields[4] if len(fields) > 4 else "",
        }
        if unit in state:
            entry.update(state[unit])
        (failed if active == "failed" else restarting).append(entry)
    return {"failed": failed, "restarting": restarting}


def _show(lines: list[str]) -> dict[str, dict[str, object]]:
    """`systemctl show` blocks (blank-line separated KEY=VALUE) -> unit -> restarts, result."""
    out: dict[str, dict[str, object]] = {}
    block: dict[str, str] = {}
    for line in [*lines, ""]:
        key, sep, value = line.partition("=")
        if sep:
            block[key] = value
            continue
        if "Id" in block:
            restarts = block.get("NRestarts", "")
            out[block["Id"]] = {
                "restarts": int(restarts) if restarts.isdigit() else None,
                "result": block.get("Result"),
            }
        block = {}
    return out


SERVICES = Probe(
    name="services",
    area="services",
    command=("sh", "-c", SCRIPT, "sh", str(MAX_SHOWN)),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
)
