"""The finding catalog: every code triagebot can report, what it means and what to do.

Codes are a contract with users (alerts, runbooks and `--json` consumers match on them):
new codes may be added, existing ones keep their meaning. A rule's Finding carries the
specific fix (with the host's own numbers and paths); the catalog holds the general entry
shown by `/triagebot help CODE` and linked from reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One code: a title, why it happens, what to do."""

    code: str
    area: str
    title: str
    why: str
    fix: str


_ENTRIES = [
    # Host
    Entry(
        "cpu.saturated",
        "host",
        "CPU saturated",
        "More runnable tasks than CPUs (load per core above the threshold): requests wait "
        "for CPU time and latency climbs.",
        "Find the busy processes (`ps -eo pid,%cpu,cmd --sort=-%cpu | head`, `top -H` for "
        "threads); scale out or cap the offender.",
    ),
    Entry(
        "cpu.iowait_high",
        "host",
        "CPU waiting on I/O",
        "CPUs idle while tasks wait for disk or network storage: a slow or saturated device.",
        "`iostat -x 1` / `vmstat 1` for the device and `iotop` for the process; check the "
        "disk's health and noisy neighbours.",
    ),
    Entry(
        "mem.pressure",
        "host",
        "Memory pressure",
        "Little memory available: the kernel reclaims cache aggressively and may OOM-kill.",
        "Find the largest RSS (`ps -eo pid,rss,cmd --sort=-rss | head`); fix the leak or add "
        "memory; set container memory limits deliberately.",
    ),
    Entry(
        "mem.swapping",
        "host",
        "Swapping",
        "Pages move to and from swap while running: everything touching them slows down.",
        "Reduce memory use or add RAM; `vmstat 1` (si/so) confirms; lower vm.swappiness only "
        "after the cause is known.",
    ),
    Entry(
        "mem.oom_kill",
        "host",
        "Process killed by the OOM killer",
        "The kernel killed a process to free memory; the service restarted or died.",
        "`journalctl -k | grep -i oom` names the victim; raise its limit or fix its growth.",
    ),
    Entry(
        "disk.full",
        "host",
        "Filesystem nearly full",
        "At 90% (warning) or 95% (critical) used: writes of logs, uploads and databases start "
        "failing and take services down.",
        "Free space where the biggest directories are (`du -xh -d 2 MOUNT | sort -h`); vacuum "
        "journals, rotate logs, prune Docker; `lsof +L1` finds deleted files still open.",
    ),
    Entry(
        "disk.inodes_full",
        "host",
        "Filesystem out of inodes",
        "Every inode used: no new file can be created although space is free.",
        "Find directories with many small files (`du -x --inodes -d 2 MOUNT | sort -n`) "
        "and remove or archive them.",
    ),
    Entry(
        "port.not_listening",
        "host",
        "Expected port not listening",
        "A port the host should serve has no listener: clients get 'connection refused'.",
        "Check the service (`systemctl status`, `journalctl -u SVC -n 200`) and its "
        "configured port; confirm with `ss -lntp`.",
    ),
    Entry(
        "port.loopback_only",
        "host",
        "Port listens on loopback only",
        "The service binds 127.0.0.1 or ::1: local checks pass, remote clients are refused.",
        "Bind to 0.0.0.0 or the interface address in the service's configuration.",
    ),
    Entry(
        "tcp.time_wait_high",
        "host",
        "Many TIME-WAIT connections",
        "Many short-lived connections: each request opens and closes a socket.",
        "Use keep-alive and connection pooling towards the peers named.",
    ),
    Entry(
        "tcp.syn_sent_high",
        "host",
        "Many SYN-SENT connections",
        "Connection attempts get no answer: the peer is down or a firewall drops packets.",
        "Test the named peer (`nc -vz -w 3 PEER PORT`), its security groups and routes.",
    ),
    Entry(
        "tcp.close_wait_high",
        "host",
        "Many CLOSE-WAIT connections",
        "The peer closed but the application never closed its socket: a leak.",
        "Fix socket closing in the named process; restart it to recover meanwhile.",
    ),
    Entry(
        "service.failed",
        "host",
        "Failed systemd unit",
        "A unit is in the failed state.",
        "`systemctl status UNIT` and `journalctl -u UNIT -n 200`, fix, `systemctl restart UNIT`.",
    ),
    Entry(
        "log.errors",
        "host",
        "Repeated errors in logs",
        "The same error repeats; only timeouts without stack traces point at the network, a "
        "dependency or pool exhaustion.",
        "Read the grouped messages; correlate the first occurrence with deploys and changes.",
    ),
    Entry(
        "docker.network_isolated",
        "host",
        "Containers that must talk share no network",
        "Containers resolve each other by name only on a shared Docker network.",
        "`docker network connect NETWORK CONTAINER`, or use the internal address on one.",
    ),
    Entry(
        "docker.restarting",
        "host",
        "Container restarting",
        "A container keeps restarting (crash loop or failing health check).",
        "`docker logs --tail 200 CONTAINER` and `docker inspect` for its exit code and OOM flag.",
    ),
    Entry(
        "docker.hairpin",
        "host",
        "Container calls a proxied public name served on the same host",
        "The call leaves the server, goes through the CDN or proxy and comes back: added "
        "latency and intermittent ETIMEDOUT.",
        "Point the variable at the internal address on a shared network (e.g. "
        "`http://supabase-kong:8000`) or make the DNS record DNS-only.",
    ),
    Entry(
        "ssh.refused",
        "host",
        "SSH connection refused",
        "Nothing accepts connections on the SSH port, or the server hung up on us.",
        "Check sshd (`systemctl status ssh`), the registered port and firewalls.",
    ),
    Entry(
        "ssh.timeout",
        "host",
        "SSH connection timed out",
        "No answer in time: host down, wrong address, or packets dropped.",
        "`nc -vz -w 5 ADDR PORT`; check routes and security groups.",
    ),
    Entry(
        "ssh.auth_failed",
        "host",
        "SSH authentication failed",
        "The server rejected the bot's key for the registered user.",
        "Add the bot's public key to the user's authorized_keys, or fix --user/--key.",
    ),
    Entry(
        "ssh.hostkey_mismatch",
        "host",
        "SSH host key is not the pinned one",
        "The host presented a key other than the registered one (or none is pinned): nothing "
        "was run.",
        "Verify the new fingerprint out of band, then re-register the host; otherwise treat "
        "it as a possible man-in-the-middle.",
    ),
    Entry(
        "source.unavailable",
        "host",
        "A source of facts is missing on the host",
        "The probe ran but the host has no such source (no systemd, no Docker, no "
        "permission to read the kernel log): that part of the routine saw nothing.",
        "Install or grant access to the source if the area matters for this host (e.g. add "
        "the bot's user to the systemd-journal or docker group).",
    ),
    # DNS
    Entry(
        "dns.nxdomain",
        "dns",
        "Name does not exist",
        "The authoritative servers say the name does not exist (NXDOMAIN).",
        "Check the spelling and the zone's records; a recent change may still be cached.",
    ),
    Entry(
        "dns.servfail",
        "dns",
        "Resolver failure",
        "SERVFAIL: the resolver could not get an answer (broken delegation, DNSSEC, dead NS).",
        "`dig +trace NAME` to see where resolution breaks.",
    ),
    Entry(
        "dns.timeout",
        "dns",
        "DNS query timed out",
        "The resolver did not answer in time.",
        "Try another resolver (`dig @1.1.1.1 NAME`); check the host's resolv.conf and firewall.",
    ),
    Entry(
        "dns.no_answer",
        "dns",
        "No record of that type",
        "The name exists but has no record of the asked type.",
        "Add the record, or query the type the client really uses.",
    ),
    Entry(
        "dns.cdn_proxied",
        "dns",
        "Name is proxied by a CDN",
        "The addresses belong to a CDN or proxy (named): traffic goes through it, not "
        "straight to the origin.",
        "For a service on the same server, use the internal (Docker network) address or make "
        "the record DNS-only.",
    ),
    Entry(
        "dns.multiple_a",
        "dns",
        "Several addresses (round-robin)",
        "Clients spread over several addresses: intermittent failures can be one bad backend.",
        "Test each address (`curl --resolve NAME:443:IP`).",
    ),
    Entry(
        "dns.ipv6_present",
        "dns",
        "Name has IPv6 addresses",
        "Clients try IPv6 and IPv4 (Happy Eyeballs); a broken IPv6 path shows as timeouts.",
        "Rule IPv6 out: for Node.js `NODE_OPTIONS=--dns-result-order=ipv4first`.",
    ),
    Entry(
        "dns.resolver_mismatch",
        "dns",
        "Resolvers disagree",
        "Two resolvers return different answers: propagation, split horizon or a stale cache.",
        "Compare TTLs; wait out the TTL or flush the stale cache.",
    ),
    Entry(
        "dns.inconsistent_ns",
        "dns",
        "Authoritative servers disagree",
        "The zone's name servers return different serials or answers.",
        "Fix zone transfers (NOTIFY/AXFR) or the out-of-date server.",
    ),
    # HTTP / TCP
    Entry(
        "tcp.refused",
        "http",
        "Connection refused",
        "Nothing listens on that address and port, or a firewall rejects it.",
        "`ss -lntp` on the server; check the port and bind address.",
    ),
    Entry(
        "tcp.timeout",
        "http",
        "TCP connect timed out",
        "The connect got no answer: host down, packets dropped, wrong address.",
        "Check firewalls and routes; try `curl --resolve` against each address.",
    ),
    Entry(
        "http.timeout",
        "http",
        "No HTTP response in time",
        "Connected, but the application or its upstream did not answer in time.",
        "Check the application's logs and its dependencies (database, external APIs, pools).",
    ),
    Entry(
        "http.5xx",
        "http",
        "Server error",
        "5xx from the server; 502 and 504 point at the upstream behind a proxy.",
        "Read the proxy's error log and the upstream's health.",
    ),
    Entry(
        "http.4xx",
        "http",
        "Client error",
        "The server refused the request (auth, missing path, method).",
        "Check the URL, credentials and method.",
    ),
    Entry(
        "tls.error",
        "http",
        "TLS failure",
        "The certificate is expired, self-signed or does not match the name.",
        "Renew or fix the certificate chain; check the served name.",
    ),
    Entry(
        "http.slow",
        "http",
        "Slow response",
        "The total time is over the threshold; the slowest phase is named.",
        "Work on the named phase: DNS, connect, TLS, or the server's time to first byte.",
    ),
    Entry(
        "http.connection_closed",
        "http",
        "Connection closed without a response",
        "Connected, but the server or a proxy in between closed or reset the connection "
        "before answering: a crashing worker, or an idle/proxy timeout shorter than the request.",
        "Read the server's and the proxy's error logs at that time; compare proxy and "
        "application timeouts.",
    ),
    Entry(
        "http.too_many_redirects",
        "http",
        "Redirect loop",
        "The URL redirects more times than allowed, usually to itself: http->https behind a "
        "TLS-terminating proxy that does not pass X-Forwarded-Proto, or a login loop.",
        "Follow the hops in the report; fix the proxy headers or the application's base URL.",
    ),
    Entry(
        "http.view_mismatch",
        "http",
        "The bot and the host see different results",
        "`http --from HOST` gave a different outcome, status or address than the bot's own "
        "check: the host's DNS, egress firewall, routes or proxy differ.",
        "Compare DNS (`triagebot dig NAME --from HOST`), then the host's firewall and routes.",
    ),
]

CATALOG: dict[str, Entry] = {e.code: e for e in _ENTRIES}


def entry(code: str) -> Entry | None:
    """The catalog entry for `code`, if there is one."""
    return CATALOG.get(code)
