"""Value objects shared by executors, probes, rules and commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}

LOCAL_HOST = "local"


@dataclass(frozen=True)
class CommandResult:
    """What an executor returns; a non-zero exit is data, not an exception."""

    stdout: str
    stderr: str
    exit_status: int | None
    duration_s: float
    truncated: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """True when the command ran to completion with exit status 0."""
        return self.exit_status == 0 and not self.timed_out


@dataclass(frozen=True)
class HostTarget:
    """Everything the probes need to know about a host (no database, no Slack)."""

    name: str
    address: str = ""
    port: int = 22
    user: str = "root"
    key_path: str | None = None
    host_keys: tuple[str, ...] = ()
    expect_ports: tuple[int, ...] = ()
    logs: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        """True for the built-in host `local`, the machine the bot runs on."""
        return self.name == LOCAL_HOST


Facts = dict[str, Any]

# The host-side limit of every probe with no reason for another (issue 18, host CPU): a
# batch runs one `timeout` (and its `sh`) per distinct limit, ~3.5 ms of the host's CPU
# each, so quick probes share one. 11 s is the default 1 s window + 10 s, the limit of the
# probes that walk every process; a probe that sleeps its window takes the greater of this
# and the window + what it needs (so a longer window still gives it its full margin).
QUICK_LIMIT_S = 11.0
# The limit of the probes that wait on a daemon or a journal (docker, logs): they share the
# second and last host-side `timeout` of a default triage.
SLOW_LIMIT_S = 20.0


@dataclass(frozen=True)
class SSHOptions:
    """Timeouts and limits shared by both executors (here so options need no asyncssh)."""

    connect_timeout_s: float = 5.0
    command_timeout_s: float = 10.0
    output_cap_bytes: int = 1_000_000
    max_channels: int = 8  # below sshd's default MaxSessions 10
    keepalive_interval_s: float = 15.0


@dataclass(frozen=True)
class ProbeConfig:
    """Knobs that shape probe commands (never user text: numbers from settings)."""

    sample_window_s: float = 1.0  # /proc/stat and /proc/vmstat are read twice, this far apart
    log_window_min: int = 15  # journalctl --since this many minutes ago
    log_tail_lines: int = 1000  # last lines read from each of the host's --log files

    @property
    def window_s(self) -> float:
        """The sample window the two-reading probes sleep, never under 0.1 s."""
        return max(0.1, float(self.sample_window_s))


@dataclass(frozen=True)
class Probe:
    """A fixed command and a pure parser; never built from user text.

    `args` may append values from the host's registry entry (ports, log paths) as separate
    argv elements: they are data for the fixed script, never parsed by a shell.
    """

    name: str
    area: str
    command: tuple[str, ...]
    parse: Callable[[CommandResult], Facts]
    timeout_s: float = 10.0
    args: Callable[[HostTarget], Sequence[str]] | None = None
    # When set and false for a host, the probe is not run there (nothing configured for it).
    applies: Callable[[HostTarget], bool] | None = None
    # What of the (redacted) stdout may be stored and shown as raw output: all of it (None),
    # what this function keeps (e.g. docker inspect without container environments), or
    # nothing (store_raw=False). Facts are parsed from the full output either way.
    raw_filter: Callable[[str], str] | None = None
    store_raw: bool = True
    # Data for the command's stdin (e.g. curl's `-K -` config holding a URL with credentials,
    # so it never shows in the host's process list); never parsed by a shell.
    stdin: str | None = None
    # Whether stderr belongs to the stored raw output (curl's error line is on stderr).
    raw_stderr: bool = False

    def stored_raw(self, stdout: str) -> str:
        """The part of `stdout` (already redacted) that may be stored as raw output."""
        if not self.store_raw:
            return ""
        return self.raw_filter(stdout) if self.raw_filter else stdout

    # When true the runner adds the bot's wall clock just before and after the command to the
    # facts (`bot_clock`), so a rule can compare the host's clock with the bot's.
    clocked: bool = False
    # (PROBE, MAKE): when the probe named PROBE runs in the same batch, this one sends no
    # command of its own; MAKE turns PROBE's output into the output this probe's command
    # would have printed (issue 18: the sockets probe's `ss -lntp` lines are the LISTEN lines
    # of the connections probe's `ss -tanp`, one `ss` fewer for the host). Run alone, or
    # without PROBE, it runs its own command.
    reuses: tuple[str, Callable[[CommandResult], CommandResult]] | None = None

    def argv(self, host: HostTarget) -> list[str]:
        """The argv to run on `host`."""
        extra = list(self.args(host)) if self.args else []
        return [*self.command, *extra]


@dataclass(frozen=True)
class Finding:
    """One thing a check found, with the evidence and what to do about it."""

    code: str
    severity: Severity
    title: str
    detail: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    suggestion: str = ""
    host: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "evidence": dict(self.evidence),
            "suggestion": self.suggestion,
            "host": self.host,
        }


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe on one host; a failed probe is a result, not an exception."""

    probe: str
    host: str
    ok: bool
    facts: Facts = field(default_factory=dict)
    error: str = ""
    duration_ms: int = 0
    area: str = ""
    raw: str = ""
    truncated: bool = False
    redacted: int = 0  # distinct secret values hidden from its output, facts and error

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (raw output excluded)."""
        return {
            "probe": self.probe,
            "area": self.area,
            "host": self.host,
            "ok": self.ok,
            "facts": self.facts,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "truncated": self.truncated,
            "redacted": self.redacted,
        }


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then by code, stable."""
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.code))
