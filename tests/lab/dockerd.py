"""A real Docker daemon for the lab: its own socket, data root, exec root and bridges.

`Dockerd.start()` runs Debian's dockerd with everything private to this test run:
`--host unix:///run/tbl-docker-<pid>.sock`, data and exec roots in a fresh /tmp/tbl-docker-*
directory, no default bridge (`--bridge=none`), no iptables, forwarding or masquerading
changes to this machine (`--iptables=false --ip-forward=false --ip-masq=false`; containers
on one user-defined network reach each other through their bridge, published ports go through
docker-proxy), `--dns=127.0.0.1` (unknown names fail at once inside containers instead of
going to this machine's resolvers), the vfs storage driver (works on any filesystem) and an
empty config file.

No registry is reachable, so the one image, `tbl-busybox:lab`, is `docker import`ed from a
rootfs of this machine's busybox (dynamically linked on Debian: its libraries are copied next
to it) with the applet links a test needs, and, when gcc is there, `hog`: a static program
that holds a given amount of memory. User-defined networks get bridges named
`tbld<pid>x<n>` and /28 subnets of a 198.19.X.0/24 (X >= 200) this run claims under
/run/tbl-lab, so concurrent runs do not collide (tests/lab/netns.py hands out 198.18.0.0/15
from the bottom: it would need 456+ hosts to reach 198.19.200).

Cleanup is layered like tests/lab/netns.py: `close()` removes containers and networks and
stops the daemon (which stops its containerd and shims); `atexit` calls it; and a new Dockerd
first stops daemons, removes bridges and directories whose owning test process is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.lab.netns import STATE_DIR, _alive

DOCKERD = "/usr/sbin/dockerd"
IMAGE = "tbl-busybox:lab"
SOCK_DIR = Path("/run")
PREFIX = "tbl-docker-"
BRIDGE = "tbld"
CONTEXT = "tbl-lab"  # the docker context a lab host's client uses (client_config)
# Each daemon claims one 198.19.X.0/24 (X from 200 up) for its networks: Docker refuses a
# subnet another bridge of this machine routes, so concurrent test runs need their own.
SUBNET_OCTETS = range(200, 256)
START_TIMEOUT_S = 60.0
HOG_C = r"""
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    size_t n = (size_t)atol(argc > 1 ? argv[1] : "1") << 20;
    volatile char *p = malloc(n);  /* volatile: the compiler must keep every write */
    if (!p) return 1;
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    for (;;) pause();
}
"""
APPLETS = (
    "sh",
    "wget",
    "timeout",
    "sleep",
    "nc",
    "cat",
    "echo",
    "tail",
    "head",
    "ls",
    "env",
    "seq",
)


def missing() -> str:
    """Why this machine cannot run the Docker lab ('' when it can)."""
    if os.geteuid() != 0:
        return "the Docker lab needs root (it starts its own dockerd)"
    if not os.access(DOCKERD, os.X_OK):
        return f"the Docker lab needs dockerd at {DOCKERD} (Debian package docker.io)"
    if shutil.which("docker") is None:
        return "the Docker lab needs the docker client on PATH (Debian package docker.io)"
    if not os.access("/bin/busybox", os.X_OK):
        return "the Docker lab needs /bin/busybox for its image (Debian package busybox)"
    return ""


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 60.0) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def _unmount_under(root: Path) -> None:
    """Lazy-unmount whatever dockerd left mounted below `root` (netns files, shm)."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(f"{root}/")), reverse=True):
        _run(["umount", "-l", point], check=False)


def _stop_pid(pid: int, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_mentioning(text: str) -> None:
    """SIGKILL the processes of a stale run's root `text`: those whose command line names it
    (its containerd and shims) and those whose root directory is below it (containers)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (proc / "cmdline").read_bytes() or os.readlink(
                proc / "root"
            ).startswith(f"{text}/"):
                os.kill(int(proc.name), signal.SIGKILL)


def _claim_subnet() -> str:
    """`198.19.X`: the first /24 no live test run holds (a claim file under /run/tbl-lab)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    for octet in SUBNET_OCTETS:
        path = STATE_DIR / f"docker-198.19.{octet}"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return f"198.19.{octet}"
    raise RuntimeError("no free 198.19.X.0/24 for the Docker lab (claims under /run/tbl-lab)")


def remove_stale() -> None:
    """Stop daemons and delete sockets, bridges, roots and subnet claims of runs that are gone."""
    for claim in STATE_DIR.glob("docker-198.19.*"):
        try:
            owner = int(claim.read_text())
        except (OSError, ValueError):
            owner = 0
        if not _alive(owner):
            claim.unlink(missing_ok=True)
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((root / "owner").read_text())
        except (OSError, ValueError):
            owner = 0
        if _alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError):
            pid = int((root / "dockerd.pid").read_text())
            if Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd":
                _stop_pid(pid)
        _kill_mentioning(str(root))  # a killed daemon's containerd and shims
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)
        (SOCK_DIR / f"{PREFIX}{owner}.sock").unlink(missing_ok=True)
    for line in _run(["ip", "-o", "link", "show", "type", "bridge"], check=False).splitlines():
        name = line.split(":")[1].strip() if line.count(":") >= 2 else ""
        pid = name[len(BRIDGE) :].split("x")[0]
        if name.startswith(BRIDGE) and pid.isdigit() and not _alive(int(pid)):
            _run(["ip", "link", "del", name], check=False)


class Dockerd:
    """One private dockerd for a test session, with the lab image imported (one per process:
    its socket and bridge names carry the process id)."""

    def __init__(self) -> None:
        remove_stale()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.root / "owner").write_text(str(os.getpid()))
        self.socket = SOCK_DIR / f"{PREFIX}{os.getpid()}.sock"
        self.host = f"unix://{self.socket}"
        self.client = shutil.which("docker") or "docker"
        self.proc: subprocess.Popen[bytes] | None = None
        self._networks = 0
        self.subnet_base = _claim_subnet()
        atexit.register(self.close)

    def start(self) -> None:
        """Start dockerd, wait until it answers, import the image."""
        (self.root / "daemon.json").write_text("{}\n")
        log = open(self.root / "dockerd.log", "ab")  # the daemon writes to it
        self.proc = subprocess.Popen(
            [
                DOCKERD,
                f"--host={self.host}",
                f"--data-root={self.root / 'data'}",
                f"--exec-root={self.root / 'exec'}",
                f"--pidfile={self.root / 'dockerd.pid'}",
                f"--config-file={self.root / 'daemon.json'}",
                "--bridge=none",
                "--iptables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--storage-driver=vfs",
                # Docker's embedded DNS forwards names it does not know; never to this
                # machine's resolvers: 127.0.0.1 in the container answers "refused" at once.
                "--dns=127.0.0.1",
                "--dns-opt=timeout:1",
                "--dns-opt=attempts:1",
                "--log-level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run(self.argv("version"), capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"dockerd did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        self._import_image()

    def log(self) -> str:
        """What dockerd printed so far."""
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def argv(self, *args: str) -> list[str]:
        """The docker CLI talking to this daemon."""
        return [self.client, "--host", self.host, *args]

    def docker(self, *args: str, check: bool = True, timeout: float = 60.0) -> str:
        """Run `docker ARGS` against this daemon; its stdout."""
        return _run(self.argv(*args), check=check, timeout=timeout)

    def _import_image(self) -> None:
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "tmp").mkdir()
        (rootfs / "etc").mkdir()
        shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
        for applet in APPLETS:
            (rootfs / "bin" / applet).symlink_to("busybox")
        # Debian's busybox is dynamically linked: copy the loader and libraries ldd names.
        for line in _run(["ldd", "/bin/busybox"]).splitlines():
            words = line.split()
            path = words[2] if "=>" in words and len(words) > 2 else words[0] if words else ""
            if path.startswith("/"):
                dest = rootfs / path.lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
        if shutil.which("gcc"):
            self._hog(rootfs / "bin" / "hog")
        # glibc resolves names through NSS modules it loads at run time: without them and
        # nsswitch.conf, busybox wget crashes instead of saying "bad address".
        for lib in ("libnss_files.so.2", "libnss_dns.so.2"):
            src = Path("/lib/x86_64-linux-gnu") / lib
            if src.exists():
                dest = rootfs / "lib/x86_64-linux-gnu" / lib
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
        (rootfs / "etc" / "nsswitch.conf").write_text("hosts: files dns\n")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            subprocess.run(
                self.argv("import", "-", IMAGE),
                stdin=tar.stdout,
                check=True,
                capture_output=True,
                timeout=120,
            )
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            tar.wait()

    def _hog(self, dest: Path) -> None:
        """A static `hog MIB`: allocates and touches MIB MiB, then sleeps (busybox cannot)."""
        source = self.root / "hog.c"
        source.write_text(HOG_C)
        _run(["gcc", "-static", "-O1", "-o", str(dest), str(source)], timeout=120)

    def network(self, name: str) -> str:
        """A user-defined bridge network with its own /28 and bridge name; its subnet."""
        n = self._networks
        self._networks += 1
        subnet = f"{self.subnet_base}.{16 * n}/28"
        self.docker(
            "network",
            "create",
            "--subnet",
            subnet,
            "-o",
            f"com.docker.network.bridge.name={BRIDGE}{os.getpid()}x{n}",
            name,
        )
        return subnet

    def client_config(self, home: Path) -> Path:
        """A docker context in a lab host's HOME pointing its `docker` client at this daemon.

        What a real host with a daemon elsewhere than /var/run/docker.sock has
        (`docker context use`, ~/.docker/config.json naming it), so the docker probe sees,
        from the host's own state, that a daemon may be reachable; its config file.
        """
        config = home / ".docker"
        base = [self.client, "--config", str(config), "context"]
        _run([*base, "create", CONTEXT, "--docker", f"host={self.host}"], timeout=30)
        _run([*base, "use", CONTEXT], timeout=30)
        return config / "config.json"

    def inspect(self, name: str) -> dict[str, object]:
        """`docker inspect NAME` as a dict."""
        doc: dict[str, object] = json.loads(self.docker("inspect", name))[0]
        return doc

    def reset(self) -> None:
        """Remove every container and network, so the next test starts empty."""
        ids = self.docker("ps", "-aq").split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)
        nets = self.docker("network", "ls", "--filter", "type=custom", "-q").split()
        if nets:
            self.docker("network", "rm", *nets, check=False)
        self._networks = 0

    def close(self) -> None:
        """Stop the daemon (it stops its containers and containerd); delete its files."""
        atexit.unregister(self.close)
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.reset()
            _stop_pid(self.proc.pid)
            self.proc.wait()
        self.proc = None
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        self.socket.unlink(missing_ok=True)
        (STATE_DIR / f"docker-{self.subnet_base}").unlink(missing_ok=True)
