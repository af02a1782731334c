"""The test lab: real OpenSSH sshd on hosts made of Linux network namespaces.

Each host is a namespace `tbl-<name>` joined to the root namespace by a veth pair
(`tblr<i>` here, `tbln<i>` inside), addressed from 198.18.0.0/15 (RFC 2544, benchmarking):
198.18.i.1 on our side, 198.18.i.2 on the host's. sshd runs inside with its own host key
and accepts one lab user key for root.

Cleanup is layered because a crashed run must not poison the next: `Lab.close()` tears
down what it made, `atexit` calls it if a test run dies, and a new Lab removes `tbl-*`
namespaces, `tblr*` links and work directories whose owning process is gone (owners are
recorded under /run/tbl-lab, allocation is under a lock there, so two concurrent test runs
leave each other alone).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
NETNS_DIR = Path("/var/run/netns")
STATE_DIR = Path("/run/tbl-lab")
PREFIX = "tbl-"
ROOT_IF = "tblr"
NS_IF = "tbln"
START_TIMEOUT_S = 10.0

SSHD_CONFIG = """\
ListenAddress {address}
Port {port}
HostKey {host_key}
PidFile {workdir}/sshd.pid
AuthorizedKeysFile {workdir}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 10
LogLevel VERBOSE
Subsystem sftp internal-sftp
# bash sources ~/.bashrc for commands run by sshd; this machine's root .bashrc (pyenv init)
# costs ~100 ms per command, which would dominate every lab test. An empty home avoids it.
SetEnv HOME={workdir}/home PATH={workdir}/bin:{system_path}
"""
REAL_JOURNALCTL = "/usr/bin/journalctl"
EMPTY_DMESG = """#!/bin/sh
# lab: this host's kernel log is its own, and empty (LabHost.own_kernel_log)
exit 0
"""
KERNEL_FREE_JOURNALCTL = f"""#!/bin/sh
# lab: the kernel part of the journal is this host's own, and empty (LabHost.own_kernel_log)
for a do case "$a" in -k|--dmesg) exit 0;; esac; done
exec {REAL_JOURNALCTL} "$@"
"""
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
    """Run a setup command in the root namespace; its stderr is in the error if it fails."""
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def keygen(path: Path, comment: str, kind: str = "ed25519") -> str:
    """A new passphrase-less key at `path`; returns its public line 'type base64'."""
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)])
    kind, blob, *_ = path.with_name(path.name + ".pub").read_text().split()
    return f"{kind} {blob}"


def _alive(pid: int) -> bool:
    if pid <= 0:  # unknown owner (kill(0) would signal our own group)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(netns: str) -> int:
    try:
        return int((STATE_DIR / netns).read_text())
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    """Serialises index allocation and stale cleanup between concurrent test runs."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _kill_netns_pids(netns: str, only: str = "") -> None:
    """SIGKILL the processes in `netns` (those whose command is `only`, if given)."""
    for pid in run(["ip", "netns", "pids", netns], check=False).split():
        with contextlib.suppress(OSError, ValueError):
            if only and Path(f"/proc/{pid}/comm").read_text().strip() != only:
                continue
            os.kill(int(pid), signal.SIGKILL)


def _links() -> dict[str, str]:
    """Root-namespace link name -> the named namespace its veth peer is in ("" if none)."""
    links = {}
    for line in run(["ip", "-o", "link", "show"], check=False).splitlines():
        parts = line.split(":", 2)
        if len(parts) < 3:
            continue
        fields = parts[2].split()
        peer_ns = fields[fields.index("link-netns") + 1] if "link-netns" in fields else ""
        links[parts[1].strip().split("@")[0]] = peer_ns
    return links


def remove_stale() -> None:
    """Delete namespaces, links and work directories left behind by runs that are gone."""
    for line in run(["ip", "netns", "list"], check=False).splitlines():
        netns = line.split()[0] if line.strip() else ""
        if netns.startswith(PREFIX) and not _alive(_owner(netns)):
            _kill_netns_pids(netns)
            run(["ip", "netns", "del", netns], check=False)
            (STATE_DIR / netns).unlink(missing_ok=True)
    for workdir in Path(tempfile.gettempdir()).glob("tbl-lab-*"):
        try:
            owner = int((workdir / "owner").read_text())
        except (OSError, ValueError):
            owner = 0
        if not _alive(owner):
            shutil.rmtree(workdir, ignore_errors=True)
    for ifname, peer_ns in _links().items():
        # Deleting a namespace deletes both veth ends; a root end left alone is debris.
        if ifname.startswith(ROOT_IF) and not _alive(_owner(peer_ns) if peer_ns else 0):
            run(["ip", "link", "del", ifname], check=False)


@dataclass
class LabHost:
    """One lab host: a namespace with an address, an sshd and the keys to reach it."""

    lab: Lab
    name: str
    index: int
    workdir: Path
    key_path: str
    host_key_line: str = ""
    port: int = 22
    user: str = "root"
    extra_host_keys: list[Path] = field(default_factory=list)
    extra_config: list[str] = field(default_factory=list)  # more sshd_config lines
    # Its own PID namespace and /proc, so `ps` and `ss -p` on it see only its processes, as on
    # a real machine (by default every lab host sees every process of this machine).
    own_pids: bool = False
    # Its own /etc/hosts (bind-mounted over ours in a private mount namespace of its sshd), so
    # names resolve on this host as a test says without touching this machine's file.
    etc_hosts: Path | None = None
    sshd: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def netns(self) -> str:
        """The namespace name, `tbl-<name>`."""
        return PREFIX + self.name

    @property
    def address(self) -> str:
        """The host's address, inside its namespace."""
        return f"198.{18 + self.index // 256}.{self.index % 256}.2"

    @property
    def gateway(self) -> str:
        """Our side of the veth pair, the host's default route."""
        return f"198.{18 + self.index // 256}.{self.index % 256}.1"

    @property
    def root_if(self) -> str:
        """The root-namespace end of the veth pair."""
        return f"{ROOT_IF}{self.index}"

    @property
    def host_key_path(self) -> Path:
        """The sshd host private key."""
        return self.workdir / "ssh_host_ed25519_key"

    @property
    def bin_dir(self) -> Path:
        """First on PATH for this host's SSH sessions: put shims (a fake `docker`) here."""
        return self.workdir / "bin"

    @property
    def log_path(self) -> Path:
        """Where sshd's stderr (its log, with -e) goes; appended across restarts."""
        return self.workdir / "sshd.log"

    def own_kernel_log(self) -> None:
        """Give the host an empty kernel log of its own (the default).

        Every lab host shares this machine's kernel, so its kernel log holds what other
        tests did (a Docker OOM kill, a filesystem remounted read-only, loop-device I/O
        errors) and what earlier runs left in the ring buffer: a healthy host would inherit
        those findings. `dmesg` and `journalctl -k` on the host's PATH answer empty instead;
        everything else reaches the real programs.
        """
        (self.bin_dir / "dmesg").write_text(EMPTY_DMESG)
        (self.bin_dir / "dmesg").chmod(0o755)
        if Path(REAL_JOURNALCTL).exists():
            (self.bin_dir / "journalctl").write_text(KERNEL_FREE_JOURNALCTL)
            (self.bin_dir / "journalctl").chmod(0o755)

    def machine_kernel_log(self) -> None:
        """Let the host read this machine's real kernel log (tests about kernel events)."""
        for name in ("dmesg", "journalctl"):
            (self.bin_dir / name).unlink(missing_ok=True)

    def sshd_log(self) -> str:
        """Everything sshd logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def exec(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the host's network namespace (same filesystems as ours)."""
        proc = subprocess.run(
            ["nsenter", f"--net={NETNS_DIR / self.netns}", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{self.netns}: {argv} -> {proc.returncode}: {proc.stderr}")
        return proc

    def write_config(self) -> Path:
        """Write sshd_config for this host."""
        path = self.workdir / "sshd_config"
        extra = "".join(f"HostKey {key}\n" for key in self.extra_host_keys)
        # sshd keeps the first value it reads for most keywords, so overrides go first.
        first = "".join(f"{line}\n" for line in self.extra_config)
        path.write_text(
            first
            + SSHD_CONFIG.format(
                address=self.address,
                port=self.port,
                host_key=self.host_key_path,
                workdir=self.workdir,
                system_path=SYSTEM_PATH,
            )
            + extra
        )
        return path

    def start_sshd(self) -> None:
        """Start sshd and wait until its port accepts connections."""
        if self.sshd is not None:
            return
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        config = self.write_config()
        with open(self.log_path, "ab") as log:
            # nsenter (not `ip netns exec`) keeps our mount table, so sessions see later mounts.
            argv = ["nsenter", f"--net={NETNS_DIR / self.netns}"]
            if self.own_pids:
                # sshd becomes PID 1 of a new PID namespace with its own /proc; mounts made
                # later in ours still reach it (slave propagation), none of its leak back.
                argv += ["unshare", "--pid", "--fork", "--mount-proc", "--propagation", "slave"]
            if self.etc_hosts is not None:
                mount = 'mount --bind "$0" /etc/hosts && exec "$@"'
                argv += ["unshare", "--mount", "--propagation", "slave", "--"]
                argv += ["sh", "-c", mount, str(self.etc_hosts)]
            self.sshd = subprocess.Popen(
                [*argv, SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.sshd.poll() is not None:
                self._fail(f"sshd exited with status {self.sshd.returncode}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    self._fail(f"port {self.port} not accepting after {START_TIMEOUT_S}s: {exc}")
            time.sleep(0.01)

    def namespace_pid(self) -> int:
        """A process inside the host (its listening sshd), for `nsenter --target`."""
        if self.sshd is None:
            raise RuntimeError(f"{self.netns}: sshd is not running")
        if not self.own_pids:
            return self.sshd.pid  # nsenter execs sshd: the same pid
        # unshare --fork: sshd is unshare's only child.
        children = Path(f"/proc/{self.sshd.pid}/task/{self.sshd.pid}/children").read_text()
        return int(children.split()[0])

    def _fail(self, why: str) -> None:
        self.stop_sshd()
        raise RuntimeError(f"{self.netns}: {why}\n--- sshd log ---\n{self.sshd_log()}")

    def stop_sshd(self) -> None:
        """Stop the listening sshd (sessions already open are ended too)."""
        proc, self.sshd = self.sshd, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # Per-connection sshd children are not in the listener's group: end them as well,
        # so "sshd stopped" also means no session survives (a host that went away).
        _kill_netns_pids(self.netns, only="sshd")

    def replace_host_key(self) -> str:
        """Give the host a new host key and restart sshd; returns the new public line."""
        self.stop_sshd()
        self.host_key_line = keygen(self.host_key_path, f"{self.name}-host")
        self.start_sshd()
        return self.host_key_line

    def add_host_key(self, kind: str = "ecdsa") -> str:
        """Give sshd a second host key of another type and restart it; its public line."""
        path = self.workdir / f"ssh_host_{kind}_key_{len(self.extra_host_keys)}"
        line = keygen(path, f"{self.name}-host-{kind}", kind)
        self.extra_host_keys.append(path)
        self.stop_sshd()
        self.start_sshd()
        return line

    def destroy(self) -> None:
        """Stop everything in the namespace and delete it (which deletes the veth pair)."""
        self.stop_sshd()
        _kill_netns_pids(self.netns)
        run(["ip", "netns", "del", self.netns], check=False)
        (STATE_DIR / self.netns).unlink(missing_ok=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.lab.hosts.pop(self.name, None)


class Lab:
    """Creates lab hosts and guarantees they are torn down."""

    def __init__(self) -> None:
        with _state_lock():
            remove_stale()
            self.workdir = Path(tempfile.mkdtemp(prefix="tbl-lab-"))
            (self.workdir / "owner").write_text(str(os.getpid()))
        self.hosts: dict[str, LabHost] = {}
        self._closed = False
        self.user_key_path = str(self.workdir / "id_user")
        self.user_key_line = keygen(Path(self.user_key_path), "lab-user")
        atexit.register(self.close)

    def make_user_key(self, name: str) -> str:
        """A new user key that no lab host authorises (for auth-failure tests); its path."""
        path = self.workdir / f"id_{name}"
        keygen(path, name)
        return str(path)

    def _allocate(self, name: str | None) -> tuple[int, str]:
        if name is not None and (NETNS_DIR / (PREFIX + name)).exists():
            raise RuntimeError(f"lab host {name!r} exists already (another test run?)")
        taken = _links()
        index = 1  # lowest free: long runs reuse addresses of destroyed hosts
        while f"{ROOT_IF}{index}" in taken or (
            name is None and (NETNS_DIR / f"{PREFIX}h{index}").exists()
        ):
            index += 1
        if index > 510:
            raise RuntimeError("lab address space exhausted (198.18.0.0/15)")
        return index, name or f"h{index}"

    def add_host(self, name: str | None = None, *, own_pids: bool = False) -> LabHost:
        """A new host with a running sshd; `name` defaults to `h<index>` (keep it short).

        own_pids: the host gets its own PID namespace and /proc (LabHost.own_pids).
        """
        with _state_lock():  # until its link exists, another run could pick the same index
            index, name = self._allocate(name)
            host = LabHost(
                self, name, index, self.workdir / name, self.user_key_path, own_pids=own_pids
            )
            if len(host.netns) > 32 or len(host.root_if) > 15:
                raise ValueError(f"lab host name too long: {name!r}")
            run(["ip", "netns", "add", host.netns])
            (STATE_DIR / host.netns).write_text(str(os.getpid()))
            self.hosts[name] = host
            try:
                self._wire(host)
            except BaseException:
                host.destroy()
                raise
        try:
            (host.workdir / "home").mkdir(parents=True)
            (host.workdir / "bin").mkdir()
            host.own_kernel_log()
            (host.workdir / "authorized_keys").write_text(self.user_key_line + "\n")
            host.host_key_line = keygen(host.host_key_path, f"{name}-host")
            host.start_sshd()
        except BaseException:
            host.destroy()
            raise
        return host

    def _wire(self, host: LabHost) -> None:
        ns_if = f"{NS_IF}{host.index}"
        run(
            ["ip", "-batch", "-"],
            input=(
                f"link add {host.root_if} type veth peer name {ns_if} netns {host.netns}\n"
                f"addr add {host.gateway}/24 dev {host.root_if}\n"
                f"link set {host.root_if} up\n"
            ),
        )
        run(
            ["ip", "-n", host.netns, "-batch", "-"],
            input=(
                "link set lo up\n"
                f"addr add {host.address}/24 dev {ns_if}\n"
                f"link set {ns_if} up\n"
                f"route add default via {host.gateway}\n"
            ),
        )

    def close(self) -> None:
        """Tear down every host and the lab's files; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for host in list(self.hosts.values()):
            host.destroy()
        shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.close)
