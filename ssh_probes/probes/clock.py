"""The host's clock and NTP state: `date +%s.%N` after the sample window, then NTP.

The probe is `clocked`: the runner records the bot's wall clock just before the command was
sent and just after its output came back, so the rule can place the host's reading inside
that interval (the round trip is the uncertainty, not an error). The probes of a triage run
in one remote session and answer together, after the slowest (the ones that sample over the
window), so the clock is read at the end of the window, not at the start: it is then known
to be read at least `slept` seconds after the command was sent, which narrows the interval to
about the session's own overhead. `slept` is printed only when `sleep` succeeded (an old
busybox refuses fractions), so the bound is never claimed without the wait. `date` runs
before `timedatectl` (which may wake systemd-timedated), to keep it close to that moment.
busybox `date` may lack %N: the reading is then whole seconds. systemd-timesyncd (239+)
touches /run/systemd/timesync/synchronized once it has synchronised the clock: when that file
is there, timedatectl (a D-Bus call that may start systemd-timedated) is not run, so a healthy
timesyncd host pays for one `date` only. Without timedatectl, or where
it cannot answer (no systemd, systemd before 239 has no `show`), the NTP state is unknown and
only the comparison with the bot's clock is made.
"""

from __future__ import annotations

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe, ProbeConfig

MARK = "@@tb "

SCRIPT = r"""
sleep "$1" && echo "@@tb slept $1"
date +%s.%N
if [ -e /run/systemd/timesync/synchronized ]; then echo "@@tb timesyncd synchronized"; exit 0; fi
if ! command -v timedatectl >/dev/null 2>&1; then echo "@@tb timedatectl none"; exit 0; fi
[ -d /run/systemd/system ] || { echo "@@tb timedatectl nosystemd"; exit 0; }
t=; command -v timeout >/dev/null 2>&1 && t="timeout 3"
out=$($t timedatectl show 2>&1)
echo "@@tb timedatectl $?"
printf '%s\n' "$out"
"""

# systemd's tools test exactly this directory (sd_booted) and then fail with this line;
# not starting timedatectl saves the host ~4 ms of CPU per triage, the facts are the same.
NO_SYSTEMD = "System has not been booted with systemd as init system (PID 1). Can't operate."
_FLAGS = {"NTPSynchronized": "synchronized", "NTP": "enabled", "CanNTP": "can_ntp"}


def _host_time(line: str) -> tuple[float, float]:
    """`1795607421.123456789` -> (seconds, precision); `1795607421.%N` or `.N` -> whole s."""
    whole, _, frac = line.strip().partition(".")
    if not whole.isdigit():
        raise ValueError(f"not a `date +%s.%N` reading: {line[:40]!r}")
    if frac.isdigit():
        return float(f"{whole}.{frac}"), 1e-6
    return float(whole), 1.0


def parse(result: CommandResult) -> Facts:
    """The host's time (epoch seconds, with its precision) and what timedatectl says of NTP."""
    lines = result.stdout.splitlines()
    slept = 0.0
    if lines and lines[0].startswith(MARK + "slept "):
        slept = float(lines.pop(0).split()[-1])
    if not lines:
        raise ValueError(result.stderr.strip() or "no output from date")
    host_time, precision = _host_time(lines[0])
    ntp: Facts = {"synchronized": None, "enabled": None, "can_ntp": None, "timezone": None}
    status = ""
    body: list[str] = []
    for line in lines[1:]:
        if line.startswith(MARK + "timesyncd synchronized"):
            ntp.update(synchronized=True, enabled=True, can_ntp=True, source="timesyncd")
            return {"host_time": host_time, "precision_s": precision, "slept_s": slept, "ntp": ntp}
        if line.startswith(MARK + "timedatectl "):
            status = line.split()[-1]
        elif line.strip():
            body.append(line.strip())
    values = dict(line.split("=", 1) for line in body if "=" in line)
    if status == "0" and "NTPSynchronized" in values:
        for key, name in _FLAGS.items():
            if key in values:
                ntp[name] = values[key] == "yes"
        ntp["timezone"] = values.get("Timezone")
    else:
        why = {"none": "timedatectl: not found", "nosystemd": NO_SYSTEMD}.get(status)
        ntp["why"] = why or (body or ["no answer"])[0]
    return {"host_time": host_time, "precision_s": precision, "slept_s": slept, "ntp": ntp}


def probe(config: ProbeConfig) -> Probe:
    """The clock probe, reading the clock `config.sample_window_s` after it was sent."""
    window = config.window_s
    return Probe(
        name="clock",
        area="kernel",
        command=("sh", "-c", SCRIPT, "sh", f"{window:g}"),
        parse=parse,
        timeout_s=max(QUICK_LIMIT_S, window + 6.0),
        clocked=True,
    )
