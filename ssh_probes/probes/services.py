"""Failed systemd units: `systemctl list-units --state=failed --no-legend --plain --no-pager`.

The plain listing works on every systemd still in use (the JSON output needs v246+). The
script prints systemctl's exit status on a marker line and folds stderr into stdout, so a
host without a running systemd (containers, other inits) says why in the output itself.
"""

from __future__ import annotations

from ssh_probes.model import CommandResult, Facts, Probe

MARK = "@@tb "

SCRIPT = r"""
if ! command -v systemctl >/dev/null 2>&1; then
  echo "@@tb unavailable systemctl: not found"; exit 0
fi
out=$(systemctl list-units --state=failed --no-legend --plain --no-pager 2>&1)
echo "@@tb exit $?"
printf '%s\n' "$out"
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
    """Each failed unit with its load/active/sub states and description."""
    lines = result.stdout.splitlines()
    status = None
    body: list[str] = []
    for line in lines:
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
    failed = []
    for line in body:
        fields = line.removeprefix("● ").split(None, 4)
        if len(fields) < 4:
            raise ValueError(f"unexpected systemctl line: {line[:80]!r}")
        unit, load, active, sub = fields[:4]
        failed.append(
            {
                "unit": unit,
                "load": load,
                "active": active,
                "sub": sub,
                "description": fields[4] if len(fields) > 4 else "",
            }
        )
    return {"failed": failed}


SERVICES = Probe(
    name="services",
    area="services",
    command=("sh", "-c", SCRIPT),
    parse=parse,
    timeout_s=10.0,
)
