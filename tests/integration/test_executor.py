"""Executors against real things: local processes, OpenSSH sshd in the lab, asyncssh servers."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ssh_probes.errors import (
    AuthFailed,
    ConnectRefused,
    ConnectTimeout,
    ExecutorError,
    HostKeyMismatch,
    InputError,
)
from ssh_probes.executor import (
    LocalExecutor,
    SSHExecutor,
    SSHOptions,
    executor_for,
    pinned_host_keys,
)
from ssh_probes.model import HostTarget
from tests.lab import netns
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

OPTS = SSHOptions(connect_timeout_s=3.0)
CAP = OPTS.output_cap_bytes
# 5 MB of 'x' from a fixed script: five times the cap.
FLOOD = ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2"]


def hostile(tmp_path: Path) -> tuple[str, Path, Path]:
    """An argument a shell would act on: it would create `marker` and delete `keep`."""
    marker, keep = tmp_path / "marker", tmp_path / "keep"
    keep.write_text("still here")
    arg = f"$(touch {marker}); `touch {marker}`; rm -rf {keep} & echo 'quoted' \"x\" > {marker}"
    return arg, marker, keep


def sleeping(pattern: str) -> list[str]:
    """Pids of processes whose command line is exactly `pattern` (space-separated)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().replace(b"\0", b" ").strip() == pattern.encode():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


async def gone(pattern: str, within: float = 3.0) -> bool:
    """True once no process runs `pattern` (polls: a SIGKILLed process takes a moment)."""
    deadline = time.monotonic() + within
    while sleeping(pattern):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def logged(host: LabHost, text: str, count: int = 1, within: float = 3.0) -> int:
    """How often `text` is in sshd's log, once it is there `count` times (or time is up).

    sshd writes its log through the privileged monitor, a moment after the fact.
    """
    deadline = time.monotonic() + within
    while (seen := host.sshd_log().count(text)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return seen


# --- LocalExecutor -------------------------------------------------------------------------


async def test_local_runs_argv_and_nonzero_exit_is_data() -> None:
    async with LocalExecutor(options=OPTS) as ex:
        out = await ex.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (out.stdout, out.stderr, out.exit_status) == ("out\n", "err\n", 3)
    assert not out.ok and not out.timed_out and not out.truncated


async def test_local_input_locale_and_missing_command() -> None:
    ex = LocalExecutor(options=OPTS)
    assert (await ex.run(["cat"], input="hé\n")).stdout == "hé\n"
    assert (await ex.run(["sh", "-c", 'echo "$LC_ALL"'])).stdout == "C\n"
    missing = await ex.run(["/nonexistent/triagebot-cmd"])
    assert missing.exit_status == 127 and "No such file" in missing.stderr


async def test_local_output_cap_truncates_but_drains() -> None:
    out = await LocalExecutor(options=OPTS).run(FLOOD)
    assert out.truncated
    assert len(out.stdout) == CAP and set(out.stdout) == {"x"}
    # The writer was not blocked by the cap: it finished and its exit status is known.
    assert out.exit_status == 0 and out.stderr == "done\n"


async def test_local_timeout_kills_the_process_group_and_keeps_output() -> None:
    started = time.monotonic()
    out = await LocalExecutor(options=OPTS).run(
        ["sh", "-c", "echo started; sleep 31.7; echo never"], timeout=1.0
    )
    assert time.monotonic() - started < 4.0
    assert out.timed_out and out.exit_status is None and not out.ok
    assert out.stdout == "started\n"
    assert await gone("sleep 31.7"), "the child of the shell survived the kill"


async def test_local_background_child_holding_the_pipe_cannot_hang_us() -> None:
    started = time.monotonic()
    out = await LocalExecutor(options=OPTS).run(
        ["sh", "-c", "sleep 31.3 & echo forked"], timeout=1.0
    )
    assert time.monotonic() - started < 4.0
    assert out.stdout == "forked\n" and out.timed_out
    assert await gone("sleep 31.3")


async def test_local_shell_metacharacters_are_data(tmp_path: Path) -> None:
    arg, marker, keep = hostile(tmp_path)
    out = await LocalExecutor(options=OPTS).run(["printf", "%s", arg])
    assert out.ok and out.stdout == arg
    assert not marker.exists() and keep.exists()


def test_executor_for_picks_by_host() -> None:
    assert isinstance(executor_for(HostTarget("local")), LocalExecutor)
    assert isinstance(executor_for(HostTarget("web1", address="192.0.2.1")), SSHExecutor)


# --- pinned host keys (no network) -------------------------------------------------------

KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


@pytest.mark.parametrize(
    "lines",
    [
        (KEY,),
        (f"web1,192.0.2.1 {KEY}",),
        (f"[192.0.2.1]:2222 {KEY} a comment",),
        (f"# pinned by ops\n\n{KEY}\n",),
    ],
    ids=["bare", "known-hosts-line", "bracketed-port", "file-with-comment"],
)
def test_pinned_keys_accept_bare_and_known_hosts_lines(lines: tuple[str, ...]) -> None:
    keys, cas, revoked = pinned_host_keys(HostTarget("web1", host_keys=lines))
    assert [k.export_public_key().decode().split()[:2] for k in keys] == [KEY.split()[:2]]
    assert (cas, revoked) == ([], [])


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        ((), "no host key pinned"),
        ((f"@revoked * {KEY}",), "no host key pinned"),
        (("ssh-ed25519 AAAAnot-base64",), "not valid"),
    ],
    ids=["none", "only-revoked", "garbage"],
)
def test_unusable_pins_are_a_mismatch(lines: tuple[str, ...], why: str) -> None:
    with pytest.raises(HostKeyMismatch, match=why):
        pinned_host_keys(HostTarget("web1", host_keys=lines))


# --- SSHExecutor on lab hosts --------------------------------------------------------------


@pytest.mark.lab
async def test_ssh_runs_commands_like_local(lab_host: LabHost) -> None:
    ex = SSHExecutor(target_for(lab_host), OPTS)  # no connect(): run() connects lazily
    try:
        out = await ex.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (out.stdout, out.stderr, out.exit_status) == ("out\n", "err\n", 3)
        assert (await ex.run(["id", "-un"])).stdout == "root\n"
        assert (await ex.run(["cat"], input="hé\n")).stdout == "hé\n"
        assert (await ex.run(["sh", "-c", 'echo "$LC_ALL"'])).stdout == "C\n"
        assert (await ex.run(["/nonexistent/triagebot-cmd"])).exit_status == 127
    finally:
        await ex.close()
    assert await logged(lab_host, "Accepted publickey") == 1


async def _established_after(host: LabHost, delay: float) -> int:
    """TCP connections to sshd in the host's namespace, counted `delay` seconds from now."""
    await asyncio.sleep(delay)
    out = await asyncio.to_thread(
        host.exec, ["ss", "-Htn", "state", "established", "( sport = :22 )"]
    )
    return len(out.stdout.splitlines())


def peak(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at one instant."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    running = best = 0
    for _, step in edges:  # at equal times -1 sorts first: touching is not overlapping
        running += step
        best = max(best, running)
    return best


# Each run reports when it started and ended on the host (same clock as ours: same kernel).
STAMPED = ["sh", "-c", "date +%s.%N; sleep 0.2; date +%s.%N"]


@pytest.mark.lab
@pytest.mark.parametrize(
    ("max_channels", "bound"),
    [(8, 8), (3, 3), (30, 10)],
    ids=["default-8", "3", "30-above-MaxSessions-10"],
)
async def test_ssh_one_connection_with_bounded_channels(
    lab_host: LabHost, max_channels: int, bound: int
) -> None:
    opts = replace(OPTS, max_channels=max_channels)
    async with SSHExecutor(target_for(lab_host), opts) as ex:
        outs, connections = await asyncio.gather(
            asyncio.gather(*(ex.run(STAMPED) for _ in range(30))),
            _established_after(lab_host, 0.3),
        )
    assert all(o.ok for o in outs), [o.stderr for o in outs if not o.ok]
    assert connections == 1
    spans = [(float(a), float(b)) for a, b in (o.stdout.split() for o in outs)]
    # At most `bound` at once: our semaphore, or sshd's MaxSessions with our retry when the
    # bound is above it. At least two: the runs do share the connection concurrently.
    assert 2 <= peak(spans) <= bound
    assert await logged(lab_host, "Accepted publickey") == 1
    assert await logged(lab_host, "Starting session: command", 30) == 30


@pytest.mark.lab
async def test_ssh_shell_metacharacters_are_data(lab_host: LabHost, tmp_path: Path) -> None:
    arg, marker, keep = hostile(tmp_path)  # the lab shares our filesystems
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        out = await ex.run(["printf", "%s", arg])
        spaced = await ex.run(["printf", "[%s]", "two words", "", "*"])
    assert out.ok and out.stdout == arg
    assert not marker.exists() and keep.exists()
    assert spaced.stdout == "[two words][][*]"


@pytest.mark.lab
async def test_ssh_output_cap_truncates_but_drains(lab_host: LabHost) -> None:
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        out = await ex.run(FLOOD)
    assert out.truncated and len(out.stdout) == CAP and set(out.stdout) == {"x"}
    assert out.exit_status == 0 and out.stderr == "done\n"


@pytest.mark.lab
async def test_ssh_timeout_returns_partial_output_and_kills(lab_host: LabHost) -> None:
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        started = time.monotonic()
        out = await ex.run(["sh", "-c", "echo started; exec sleep 32.5"], timeout=1.0)
        assert time.monotonic() - started < 4.0
        assert out.timed_out and out.exit_status is None and out.stdout == "started\n"
        # The connection survives a timed-out command.
        assert (await ex.run(["echo", "after"])).stdout == "after\n"
    # The channel was closed and a KILL signal requested; OpenSSH refuses signals for root
    # sessions ("session signalling requires privilege separation"), so the remote sleep
    # may outlive us here: lab_host's teardown ends it.
    assert await logged(lab_host, "session_signal_req"), "no KILL was requested"


@pytest.mark.lab
async def test_ssh_sshd_stopped_is_refused_fast(lab_host: LabHost) -> None:
    lab_host.stop_sshd()
    started = time.monotonic()
    with pytest.raises(ConnectRefused) as err:
        await SSHExecutor(target_for(lab_host), OPTS).connect()
    assert time.monotonic() - started < 3.0
    assert err.value.code == "ssh.refused" and err.value.host == lab_host.name


@pytest.mark.lab
async def test_ssh_replaced_host_key_is_refused_before_auth(
    lab_host: LabHost, tmp_path: Path
) -> None:
    old = target_for(lab_host)
    lab_host.replace_host_key()
    marker = tmp_path / "ran"
    ex = SSHExecutor(old, OPTS)
    with pytest.raises(HostKeyMismatch):
        await ex.run(["touch", str(marker)])
    assert not marker.exists()
    # We reached sshd and hung up on it during the key exchange, before any auth attempt.
    assert await logged(lab_host, "Host key is not trusted")
    assert "publickey" not in lab_host.sshd_log()
    # Control: the same command with the new pin runs, and sshd logs the login.
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        assert (await ex.run(["touch", str(marker)])).ok
    assert marker.exists() and await logged(lab_host, "Accepted publickey")


@pytest.mark.lab
@pytest.mark.parametrize("kind", ["ecdsa-sha2-nistp256", "ssh-rsa"])
async def test_ssh_pin_of_a_type_the_server_lacks_is_a_mismatch(
    lab_host: LabHost, kind: str
) -> None:
    """Not a negotiation failure that would look like a network fault: a clear mismatch."""
    other = (
        asyncssh.generate_private_key(kind, key_size=1024)  # small: only its type matters
        if kind == "ssh-rsa"
        else asyncssh.generate_private_key(kind)
    )
    pin = other.export_public_key().decode().strip()
    with pytest.raises(HostKeyMismatch, match="not the pinned one"):
        await SSHExecutor(target_for(lab_host, host_keys=(pin,)), OPTS).connect()
    assert await logged(lab_host, "Host key is not trusted")
    assert "publickey" not in lab_host.sshd_log()


@pytest.mark.lab
async def test_ssh_pin_of_the_servers_second_key_type_is_accepted(lab_host: LabHost) -> None:
    """The server prefers ed25519, but we offer the pinned ECDSA type first, so it verifies."""
    ecdsa = lab_host.add_host_key("ecdsa")
    async with SSHExecutor(target_for(lab_host, host_keys=(ecdsa,)), OPTS) as ex:
        assert (await ex.run(["true"])).ok


@dataclass
class Counter:
    """A TCP listener on 127.0.0.1 that counts accepted connections and closes them."""

    port: int = 0
    accepted: int = 0


@pytest.fixture
async def counter() -> AsyncIterator[Counter]:
    box = Counter()

    def accept(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        box.accepted += 1
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()


async def test_ssh_no_pinned_key_never_connects(counter: Counter) -> None:
    target = HostTarget("web1", address="127.0.0.1", port=counter.port)
    with pytest.raises(HostKeyMismatch, match="no host key pinned"):
        await SSHExecutor(target, OPTS).run(["true"])
    await asyncio.sleep(0.1)
    assert counter.accepted == 0
    # Control: with a pin the executor does dial, and the counter sees it.
    with pytest.raises(ExecutorError):
        await SSHExecutor(replace(target, host_keys=(KEY,)), OPTS).connect()
    assert counter.accepted == 1


@pytest.mark.lab
async def test_ssh_wrong_user_key_is_auth_failed(lab: Lab, lab_host: LabHost) -> None:
    target = target_for(lab_host, key_path=lab.make_user_key("stranger"))
    with pytest.raises(AuthFailed):
        await SSHExecutor(target, OPTS).connect()
    assert await logged(lab_host, "Failed publickey for root")
    assert "Accepted publickey" not in lab_host.sshd_log()


@pytest.mark.lab
async def test_ssh_ignores_the_users_ssh_directory_and_agent(
    lab_host: LabHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the registry counts: ~/.ssh/config, known_hosts, default keys and the agent don't."""
    ssh_dir = tmp_path / "home" / ".ssh"
    ssh_dir.mkdir(parents=True)
    # Each of these would break the connection if it were read.
    (ssh_dir / "config").write_text("Host *\n  HostName 192.0.2.1\n  ProxyCommand /bin/false\n")
    (ssh_dir / "known_hosts").write_text(f"@revoked * {lab_host.host_key_line}\n")
    # And this one would log us in without a key in the registry.
    shutil.copy(lab_host.key_path, ssh_dir / "id_ed25519")
    agent_calls: list[int] = []

    def agent(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        agent_calls.append(1)
        writer.close()

    sock = tmp_path / "agent.sock"
    server = await asyncio.start_unix_server(agent, path=str(sock))
    monkeypatch.setenv("HOME", str(ssh_dir.parent))
    monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
    try:
        async with SSHExecutor(target_for(lab_host), OPTS) as ex:
            assert (await ex.run(["id", "-un"])).stdout == "root\n"
        with pytest.raises(AuthFailed):
            await SSHExecutor(target_for(lab_host, key_path=None), OPTS).connect()
    finally:
        server.close()
        await server.wait_closed()
    assert agent_calls == []


@pytest.fixture
def black_hole(request: pytest.FixtureRequest, lab_host: LabHost) -> Iterator[str]:
    """An address whose SYNs vanish: dropped by a firewall, or sent to a MAC nobody has."""
    if request.param == "iptables-drop":
        lab_host.exec(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"])
        yield lab_host.address
    else:
        ghost = lab_host.address.rsplit(".", 1)[0] + ".3"
        netns.run(
            [
                "ip",
                "neigh",
                "add",
                ghost,
                "lladdr",
                "02:00:00:00:00:01",
                "dev",
                lab_host.root_if,
                "nud",
                "permanent",
            ]
        )
        yield ghost


@pytest.mark.lab
@pytest.mark.parametrize("black_hole", ["iptables-drop", "neigh-nowhere"], indirect=True)
async def test_ssh_black_hole_is_a_timeout(lab_host: LabHost, black_hole: str) -> None:
    opts = replace(OPTS, connect_timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(ConnectTimeout, match="no answer in time"):
        await SSHExecutor(target_for(lab_host, address=black_hole), opts).connect()
    assert 1.0 <= time.monotonic() - started < opts.connect_timeout_s + 1.0


@pytest.mark.lab
async def test_ssh_unanswered_arp_is_unreachable(lab_host: LabHost) -> None:
    """No neighbour answers: the kernel reports EHOSTUNREACH, mapped to a timeout that says so."""
    # Give up on ARP after one probe of 100 ms instead of three of a second each.
    neigh = Path(f"/proc/sys/net/ipv4/neigh/{lab_host.root_if}")
    (neigh / "mcast_solicit").write_text("1")
    (neigh / "retrans_time_ms").write_text("100")
    ghost = lab_host.address.rsplit(".", 1)[0] + ".4"
    with pytest.raises(ConnectTimeout, match="host unreachable"):
        await SSHExecutor(target_for(lab_host, address=ghost), OPTS).connect()


@pytest.mark.lab
@pytest.mark.parametrize("kind", ["missing", "directory", "not-a-key", "public-key"])
async def test_ssh_unreadable_key_is_an_input_error(
    lab_host: LabHost, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "id_key"
    if kind == "directory":
        path.mkdir()
    elif kind == "not-a-key":
        path.write_text("hello\n")
    elif kind == "public-key":
        path.write_text(KEY + "\n")
    with pytest.raises(InputError, match=f"cannot read key file {path}"):
        await SSHExecutor(target_for(lab_host, key_path=str(path)), OPTS).connect()
    assert "publickey" not in lab_host.sshd_log()


@pytest.mark.lab
async def test_ssh_connection_dropped_mid_run_is_an_error_then_reconnects(
    lab_host: LabHost,
) -> None:
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        running = asyncio.ensure_future(ex.run(["sleep", "5"]))
        await asyncio.sleep(0.5)
        lab_host.stop_sshd()  # also ends the per-connection sshd: the host went away
        with pytest.raises(ExecutorError, match="running"):
            await asyncio.wait_for(running, 4.0)
        lab_host.start_sshd()
        assert (await ex.run(["echo", "back"])).stdout == "back\n"
    assert await logged(lab_host, "Accepted publickey", 2) == 2


# --- scripted servers on 127.0.0.1 -----------------------------------------------------------


@dataclass
class Scripted:
    """An asyncssh server whose command handler prints a line and then never finishes."""

    target: HostTarget
    handled: list[str]


@contextlib.asynccontextmanager
async def scripted_ssh(tmp_path: Path, handler: Any) -> AsyncIterator[Scripted]:
    """An asyncssh server on 127.0.0.1 whose sessions `handler` answers; records commands."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    user_key = asyncssh.generate_private_key("ssh-ed25519")
    user_key.write_private_key(str(tmp_path / "id_user"))
    handled: list[str] = []

    async def record(process: Any) -> None:
        handled.append(process.command)
        await handler(process)

    server = await asyncssh.create_server(
        asyncssh.SSHServer,
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(
            user_key.export_public_key().decode()
        ),
        process_factory=record,
    )
    port = server.sockets[0].getsockname()[1]
    target = HostTarget(
        "scripted",
        address="127.0.0.1",
        port=port,
        user="probe",
        key_path=str(tmp_path / "id_user"),
        host_keys=(f"[127.0.0.1]:{port} " + host_key.export_public_key().decode().strip(),),
    )
    try:
        yield Scripted(target, handled)
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def silent_ssh(tmp_path: Path) -> AsyncIterator[Scripted]:
    async def handler(process: Any) -> None:
        process.stdout.write("hello\n")
        await process.wait_closed()  # never exits by itself; ends when the client hangs up

    async with scripted_ssh(tmp_path, handler) as peer:
        yield peer


async def test_ssh_command_that_never_answers_times_out(silent_ssh: Scripted) -> None:
    async with SSHExecutor(silent_ssh.target, OPTS) as ex:
        started = time.monotonic()
        out = await ex.run(["uptime"], timeout=1.0)
        assert time.monotonic() - started < 4.0
        second = await ex.run(["uptime"], timeout=0.5)
    assert out.timed_out and out.exit_status is None and out.stdout == "hello\n"
    assert second.timed_out
    assert silent_ssh.handled == [
        "env LC_ALL=C timeout -s KILL 3 uptime",
        "env LC_ALL=C timeout -s KILL 3 uptime",  # ceil(0.5 + 2)
    ]


async def test_ssh_host_with_an_old_busybox_timeout_runs_commands_bare(tmp_path: Path) -> None:
    """busybox timeout before 1.30 takes `-t SECS`: ours makes it exec the seconds (127)."""

    async def handler(process: Any) -> None:
        words = shlex.split(process.command)
        if words[2] == "timeout":
            why = "No such file or directory"
            process.stderr.write(f"timeout: can't execute '{words[5]}': {why}\n")
            process.exit(127)
        else:
            process.stdout.write(" ".join(words[2:]) + "\n")
            process.exit(0)

    async with scripted_ssh(tmp_path, handler) as peer, SSHExecutor(peer.target, OPTS) as ex:
        out = await ex.run(["uptime"], timeout=5.0)
        again = await ex.run(["uptime"], timeout=5.0)
    assert (out.stdout, out.exit_status) == ("uptime\n", 0)
    assert again.stdout == "uptime\n"
    assert peer.handled == ["env LC_ALL=C timeout -s KILL 7 uptime", *["env LC_ALL=C uptime"] * 2]


async def test_ssh_missing_command_under_timeout_is_a_plain_127(tmp_path: Path) -> None:
    """coreutils timeout reports a missing command itself: that is the command's 127."""

    async def handler(process: Any) -> None:
        process.stderr.write("timeout: failed to run command 'nosuch': No such file or directory\n")
        process.exit(127)

    async with scripted_ssh(tmp_path, handler) as peer, SSHExecutor(peer.target, OPTS) as ex:
        out = await ex.run(["nosuch"], timeout=5.0)
        again = await ex.run(["nosuch"], timeout=5.0)
    assert out.exit_status == 127 and again.exit_status == 127
    assert peer.handled == ["env LC_ALL=C timeout -s KILL 7 nosuch"] * 2  # still wrapped


async def test_ssh_host_without_timeout_runs_commands_bare(tmp_path: Path) -> None:
    """`env` cannot find `timeout` (127): the command runs again without it, and so do the
    next ones; a command of the host's that is missing is still a plain exit 127."""

    async def handler(process: Any) -> None:
        words = shlex.split(process.command)
        if words[2] == "timeout":
            process.stderr.write("env: 'timeout': No such file or directory\n")
            process.exit(127)
        elif words[2] == "nosuch":
            process.stderr.write("env: 'nosuch': No such file or directory\n")
            process.exit(127)
        else:
            process.stdout.write(" ".join(words[2:]) + "\n")
            process.exit(0)

    async with scripted_ssh(tmp_path, handler) as peer, SSHExecutor(peer.target, OPTS) as ex:
        first = await ex.run(["uptime"], timeout=5.0)
        second = await ex.run(["echo", "x"], timeout=5.0)
        missing = await ex.run(["nosuch"], timeout=5.0)
    assert (first.stdout, first.exit_status) == ("uptime\n", 0)
    assert (second.stdout, second.exit_status) == ("echo x\n", 0)
    assert missing.exit_status == 127 and "nosuch" in missing.stderr
    assert peer.handled == [
        "env LC_ALL=C timeout -s KILL 7 uptime",
        "env LC_ALL=C uptime",
        "env LC_ALL=C echo x",
        "env LC_ALL=C nosuch",
    ]


async def test_ssh_server_that_never_speaks_is_a_timeout() -> None:
    """TCP accepts but no SSH banner ever comes (a wedged sshd): bounded by connect_timeout."""
    hold: list[asyncio.StreamWriter] = []

    def accept(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hold.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = HostTarget("wedged", address="127.0.0.1", port=port, host_keys=(KEY,))
    opts = replace(OPTS, connect_timeout_s=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(ConnectTimeout):
            await SSHExecutor(target, opts).connect()
        assert 0.9 <= time.monotonic() - started < opts.connect_timeout_s + 1.0
        assert len(hold) == 1
    finally:
        for writer in hold:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.lab
async def test_ssh_prefers_aes_gcm_and_still_connects_without_it(lab_host: LabHost) -> None:
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        assert (await ex.run(["true"])).ok
        assert ex._conn is not None
        assert ex._conn.get_extra_info("send_cipher") == "aes256-gcm@openssh.com"
    # A server that allows ChaCha20-Poly1305 only: the defaults after GCM still reach it.
    lab_host.extra_config.append("Ciphers chacha20-poly1305@openssh.com")
    lab_host.stop_sshd()
    lab_host.start_sshd()
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        assert (await ex.run(["true"])).ok
        assert ex._conn is not None
        assert ex._conn.get_extra_info("send_cipher") == "chacha20-poly1305@openssh.com"


async def test_ssh_an_early_attempt_that_fails_is_tried_once(counter: Counter) -> None:
    """start_connect, then connect(): the caller gets the early attempt's error; the host
    sees one connection, not a second try (a host that is down costs one timeout)."""
    target = HostTarget("early", address="127.0.0.1", port=counter.port, host_keys=(KEY,))
    executor = SSHExecutor(target, OPTS)
    executor.start_connect()
    executor.start_connect()  # a second call starts nothing more
    with pytest.raises(ExecutorError):  # the listener hangs up before any banner
        await executor.connect()
    await asyncio.sleep(0.1)
    assert counter.accepted == 1
    await executor.close()


async def test_ssh_an_early_attempt_never_taken_over_is_stopped_by_close(
    counter: Counter,
) -> None:
    target = HostTarget("early", address="127.0.0.1", port=counter.port, host_keys=(KEY,))
    executor = SSHExecutor(target, OPTS)
    executor.start_connect()
    await executor.close()  # no "exception was never retrieved", nothing left open
    assert executor._early is None and executor._conn is None


@pytest.mark.lab
async def test_ssh_an_early_attempt_is_the_connection_runs_use(lab_host: LabHost) -> None:
    executor = SSHExecutor(target_for(lab_host), OPTS)
    executor.start_connect()
    await asyncio.sleep(0)
    try:
        await executor.connect()
        first = executor._conn
        assert (await executor.run(["sh", "-c", "echo ok"])).stdout == "ok\n"
        assert executor._conn is first  # taken over, not opened twice
    finally:
        await executor.close()
    assert await logged(lab_host, "Accepted publickey") == 1  # one connection in all
