"""CPU load: `/proc/loadavg`, the number of online CPUs, and the kernel release and OS.

The kernel release (`uname -r`, read from /proc/sys/kernel/osrelease) and the OS name
(/etc/os-release PRETTY_NAME) ride along with shell builtins, no extra process: siblings of
a group are compared on them. Older captures without those lines parse without them.
"""

from __future__ import annotations

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe

# Issue 18 (host CPU): the load line and the online CPUs are read by the shell itself, no
# `cat` nor `getconf` (~1 ms of the host's CPU each). The CPU count is what getconf's
# _NPROCESSORS_ONLN reads too: the ranges of /sys/devices/system/cpu/online ("0-3,6").
# Anything else in that file (or no file) falls back to `getconf`.
SCRIPT = r"""
read -r l </proc/loadavg || exit 1
echo "$l"
n=
if read -r on </sys/devices/system/cpu/online; then
  n=0 IFS=,
  for r in $on; do
    case $r in
      ''|*[!0-9-]*|-*|*-|*-*-*) n=; break;;
      *-*) n=$((n + ${r#*-} - ${r%-*} + 1));;
      *) n=$((n + 1));;
    esac
  done
  unset IFS
fi 2>/dev/null
if [ -n "$n" ] && [ "$n" -gt 0 ]; then echo "$n"; else getconf _NPROCESSORS_ONLN || exit 1; fi
if read -r k < /proc/sys/kernel/osrelease; then echo "kernel $k"; fi 2>/dev/null
if [ -r /etc/os-release ]; then
  while IFS= read -r line; do
    case $line in PRETTY_NAME=*) echo "os ${line#PRETTY_NAME=}";; esac
  done < /etc/os-release
fi
exit 0
"""


def parse(result: CommandResult) -> Facts:
    """`0.44 0.23 0.09 1/139 7053`, the CPU count, then `kernel X` and `os Y` when known."""
    lines = result.stdout.splitlines()
    words = " ".join(lines[:2]).split()
    if len(words) < 6:
        raise ValueError(f"expected /proc/loadavg and a CPU count, got {result.stdout[:80]!r}")
    load1, load5, load15 = (float(x) for x in words[:3])
    running, _, total = words[3].partition("/")
    cpus = int(words[5])
    if cpus < 1:
        raise ValueError(f"CPU count {cpus} is not positive")
    facts: Facts = {
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "running": int(running),
        "total_tasks": int(total),
        "cpus": cpus,
        "load1_per_core": round(load1 / cpus, 3),
    }
    for line in lines[2:]:
        key, _, value = line.partition(" ")
        value = value.strip().strip("\"'")
        if key in ("kernel", "os") and value:
            facts[key] = value[:200]
    return facts


LOAD = Probe(
    name="load",
    area="cpu",
    command=("sh", "-c", SCRIPT),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
)
