"""A DNS lab of real BIND `named` processes on loopback: a root, a `test.` TLD, two
authoritative servers that disagree on a zone, and a recursive resolver whose only root
hint is our own root. Every address is in 127.0.0.0/8; all servers share one free port
(named's `port` option also sets the port it sends queries to, so referrals work).
named listens only on addresses that an interface holds, so the lab adds each server's
127.x.y.z/32 to `lo` (label lo:tbdns) and removes it when it stops: this needs root.

    root      .2   `.`          delegates test. ; localhost. A 127.0.0.1
    tld       .3   `test.`      delegates example, split (ns1+ns2), broken, dead, moved
    ns1       .4   example.test (the cases), split.test serial 1, broken.test (fails to
                   load -> SERVFAIL), moved.test, localhost. A 127.0.0.2
    ns2       .5   split.test serial 2 (other answers)
    resolver  .6   recursive, root hint .2
    silent    .7   a UDP socket that never answers (dns.timeout)
    dead      .9   nothing listens (dead.test's only name server)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest

from tests.unavailable import unavailable

NAMED = "/usr/sbin/named"
CF_V4, CF_V6 = "104.16.132.229", "2606:4700::6810:84e5"  # in Cloudflare's published ranges
CLOUDFRONT_V4 = "13.224.0.10"  # in CloudFront's 13.224.0.0/14
Server = tuple[str, int]


@dataclass
class Named:
    """One running named: its address, port, directory and process."""

    role: str
    address: str
    port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None
    zones: dict[str, str] = field(default_factory=dict)  # zone -> file name

    @property
    def server(self) -> Server:
        """(address, port) for dnspython and DigOptions."""
        return (self.address, self.port)

    def log(self) -> str:
        """What named printed so far (for failure messages)."""
        path = self.directory / "named.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def write_zone(self, zone: str, text: str) -> None:
        """Replace a zone's file; call reload() to make named read it."""
        path = self.directory / self.zones[zone]
        path.write_text(text)
        later = time.time() + 2  # named reloads only files newer than what it loaded
        os.utime(path, (later, later))

    def reload(self) -> None:
        """SIGHUP: named re-reads its configuration and changed zone files."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)


@dataclass
class BindLab:
    """The running servers and the addresses the tests use."""

    port: int
    base: str
    servers: dict[str, Named]
    silent: Server
    dead: Server

    def __getitem__(self, role: str) -> Named:
        return self.servers[role]


def _zone(origin: str, ttl: int, serial: int, ns: list[str], body: str) -> str:
    rname = f"hostmaster.{origin}" if origin != "." else "hostmaster.test."
    head = f"$ORIGIN {origin}\n$TTL {ttl}\n@ SOA {ns[0]} {rname} {serial} 3600 600 86400 60\n"
    return head + "".join(f"@ NS {n}\n" for n in ns) + body


def _zones(ip: dict[str, str]) -> dict[str, dict[str, str]]:
    """role -> {zone: zone file text}."""
    root = _zone(
        ".",
        3600,
        1,
        ["a.root-servers.test."],
        (
            f"a.root-servers.test. A {ip['root']}\n"
            f"test. NS ns.tld.test.\nns.tld.test. A {ip['tld']}\n"
            "localhost. A 127.0.0.1\n"
        ),
    )
    tld = _zone(
        "test.",
        3600,
        1,
        ["ns.tld.test."],
        (
            f"ns.tld A {ip['tld']}\na.root-servers A {ip['root']}\n"
            f"example NS ns1.example\nns1.example A {ip['ns1']}\n"
            "split NS ns1.split\nsplit NS ns2.split\n"
            f"ns1.split A {ip['ns1']}\nns2.split A {ip['ns2']}\n"
            f"broken NS ns1.broken\nns1.broken A {ip['ns1']}\n"
            f"dead NS ns.dead\nns.dead A {ip['dead']}\n"
            f"moved NS ns1.moved\nns1.moved A {ip['ns1']}\n"
        ),
    )
    example = _zone(
        "example.test.",
        300,
        2024010101,
        ["ns1"],
        (
            f"ns1 A {ip['ns1']}\nwww A 192.0.2.10\n"
            "rr A 192.0.2.1\nrr A 192.0.2.2\nrr A 192.0.2.3\n"
            "v6 A 192.0.2.20\nv6 AAAA 2001:db8::20\n"
            "alias CNAME alias2\nalias2 CNAME www\n"
            f"cf A {CF_V4}\ncdn A {CLOUDFRONT_V4}\n"
            "mailonly MX 10 mail.example.test.\n"
            "xn--bcher-kva A 192.0.2.50\n"  # bücher.example.test
        ),
    )

    def split(serial: int, last: int) -> str:
        return _zone(
            "split.test.",
            300,
            serial,
            ["ns1", "ns2"],
            (f"ns1 A {ip['ns1']}\nns2 A {ip['ns2']}\nwww A 192.0.2.{last}\n"),
        )

    broken = _zone(
        "broken.test.",
        300,
        1,
        ["ns1"],
        (
            # CNAME and other data at one name: named refuses to load the zone.
            f"ns1 A {ip['ns1']}\nwww CNAME www.example.test.\nwww A 192.0.2.99\n"
        ),
    )
    localhost = _zone("localhost.", 300, 1, ["ns1.example.test."], "@ A 127.0.0.2\n")
    return {
        "root": {".": root},
        "tld": {"test.": tld},
        "ns1": {
            "example.test.": example,
            "split.test.": split(1, 1),
            "broken.test.": broken,
            "moved.test.": moved_zone(ip["ns1"], 1, "192.0.2.10"),
            "localhost.": localhost,
        },
        "ns2": {"split.test.": split(2, 2)},
        "resolver": {},
    }


def moved_zone(ns1: str, serial: int, address: str) -> str:
    """moved.test with www at `address` (the stale-cache test changes it)."""
    return _zone("moved.test.", 300, serial, ["ns1"], f"ns1 A {ns1}\nwww A {address}\n")


def _config(named: Named, root_ip: str) -> str:
    recursive = named.role == "resolver"
    zones = "".join(
        f'zone "{z}" {{ type primary; file "{f}"; }};\n' for z, f in named.zones.items()
    )
    if recursive:
        (named.directory / "root.hints").write_text(
            f". 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A {root_ip}\n"
        )
        zones += 'zone "." { type hint; file "root.hints"; };\n'
    return f"""options {{
    directory "{named.directory}";
    pid-file "{named.directory}/named.pid";
    session-keyfile "{named.directory}/session.key";
    managed-keys-directory "{named.directory}";
    port {named.port};
    listen-on {{ {named.address}; }};
    listen-on-v6 {{ none; }};
    query-source address {named.address};
    recursion {"yes" if recursive else "no"};
    allow-query {{ any; }};
    {"allow-recursion { any; };" if recursive else ""}
    dnssec-validation no;
    qname-minimization off;
    empty-zones-enable no;
    notify no;
    resolver-query-timeout 3000;
}};
controls {{ }};
{zones}"""


def _free_port(addresses: list[str]) -> int:
    """A port free for UDP and TCP on every address (named binds them all)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port: int = probe.getsockname()[1]
        held = []
        try:
            for addr in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free port on the lab's loopback addresses")


def _ready(named: Named, deadline: float) -> None:
    zone = next(iter(named.zones), ".")
    query = dns.message.make_query(zone, "SOA" if named.zones else "NS")
    while time.monotonic() < deadline:
        assert named.proc is not None
        if named.proc.poll() is not None:
            raise RuntimeError(f"named {named.role} exited:\n{named.log()}")
        try:
            dns.query.udp(query, named.address, timeout=0.2, port=named.port)
            return
        except (dns.exception.Timeout, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"named {named.role} did not answer in time:\n{named.log()}")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def add_aliases(addresses: list[str]) -> list[str]:
    """Put each address on lo; returns those added (for remove_aliases)."""
    added = []
    try:
        for addr in addresses:
            _ip("addr", "add", f"{addr}/32", "dev", "lo", "label", "lo:tbdns")
            added.append(addr)
    except (OSError, subprocess.SubprocessError):
        remove_aliases(added)
        raise
    return added


def remove_aliases(addresses: list[str]) -> None:
    """Take the lab's addresses off lo again."""
    for addr in addresses:
        subprocess.run(
            ["ip", "addr", "del", f"{addr}/32", "dev", "lo"],
            capture_output=True,
            timeout=10,
            check=False,
        )


ROLES = {"root": 2, "tld": 3, "ns1": 4, "ns2": 5, "resolver": 6}


def pick_base() -> str:
    """A random 127.x.y. prefix, so concurrent runs do not collide."""
    return f"127.{random.randint(64, 250)}.{random.randint(0, 255)}."


def start(tmp: Path, base: str) -> tuple[BindLab, list[socket.socket]]:
    """Write every config and zone and start the servers (see wait_ready)."""
    roles = ROLES
    ip = {r: base + str(n) for r, n in roles.items()} | {"dead": base + "9"}
    port = _free_port([*[ip[r] for r in roles], base + "7"])
    texts = _zones(ip)
    servers: dict[str, Named] = {}
    for role in roles:
        directory = tmp / role
        directory.mkdir()
        named = Named(role, ip[role], port, directory)
        for n, (zone, text) in enumerate(texts[role].items()):
            named.zones[zone] = f"zone{n}.db"
            (directory / f"zone{n}.db").write_text(text)
        (directory / "named.conf").write_text(_config(named, ip["root"]))
        servers[role] = named
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((base + "7", port))
    lab = BindLab(port, base, servers, (base + "7", port), (ip["dead"], port))
    user = ["-u", "root"] if os.geteuid() == 0 else []
    for named in servers.values():
        log = (named.directory / "named.log").open("wb")
        named.proc = subprocess.Popen(
            [NAMED, "-g", "-4", "-n", "1", "-c", str(named.directory / "named.conf"), *user],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
    return lab, [silent]


def wait_ready(lab: BindLab) -> None:
    """Until every server answers (or raise with its log)."""
    deadline = time.monotonic() + 15
    for named in lab.servers.values():
        _ready(named, deadline)


def stop(lab: BindLab, sockets: list[socket.socket]) -> None:
    """Kill every named we started and close the silent socket."""
    for named in lab.servers.values():
        if named.proc is not None and named.proc.poll() is None:
            named.proc.kill()
            named.proc.wait(timeout=10)
    for s in sockets:
        s.close()


@pytest.fixture(scope="session")
def bind_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BindLab]:
    """The running DNS lab (skipped without named; a failure under CI)."""
    if not os.access(NAMED, os.X_OK):
        unavailable(
            f"the DNS lab needs BIND at {NAMED} (Debian package bind9)",
            under_ci=f"BIND lab unavailable under CI: no {NAMED}",
        )
    if os.geteuid() != 0 or shutil.which("ip") is None:
        unavailable(
            "the DNS lab needs root and `ip` (it adds loopback addresses)",
            under_ci="BIND lab unavailable under CI: needs root and `ip`",
        )
    base = pick_base()
    aliases = add_aliases([base + str(n) for n in ROLES.values()])
    lab, held = None, []
    try:
        lab, held = start(tmp_path_factory.mktemp("bind"), base)
        wait_ready(lab)
        yield lab
    finally:
        if lab is not None:
            stop(lab, held)
        remove_aliases(aliases)
