"""A host the routine could not reach: the ssh.* codes and the one finding that says so.

Triage, `http --from` and `dig --from` all report an unreachable host through `unreachable`,
so the advice is the same wherever it is met.
"""

from __future__ import annotations

from ssh_probes.codes import Code
from ssh_probes.model import Finding, HostTarget

SSH_REFUSED = Code(
    "ssh.refused",
    "host",
    "SSH connection refused",
    "Nothing accepts connections on the SSH port, or the server hung up on us.",
    "Check sshd (`systemctl status ssh`), the registered port and firewalls.",
)
SSH_TIMEOUT = Code(
    "ssh.timeout",
    "host",
    "SSH connection timed out",
    "No answer in time: host down, wrong address, or packets dropped.",
    "`nc -vz -w 5 ADDR PORT`; check routes and security groups.",
)
SSH_AUTH_FAILED = Code(
    "ssh.auth_failed",
    "host",
    "SSH authentication failed",
    "The server rejected the bot's key for the registered user.",
    "Add the bot's public key to the user's authorized_keys, or fix --user/--key.",
)
SSH_HOSTKEY_MISMATCH = Code(
    "ssh.hostkey_mismatch",
    "host",
    "SSH host key is not the pinned one",
    "The host presented a key other than the registered one (or none is pinned): nothing was run.",
    "Verify the new fingerprint out of band, then re-register the host; otherwise treat it as a "
    "possible man-in-the-middle.",
)
SSH_ERROR = Code(
    "ssh.error",
    "host",
    "SSH session failed",
    "The connection was made but the SSH session failed in another way (channel refused, "
    "protocol error, connection lost mid-run).",
    "Read sshd's log on the host (`journalctl -u ssh -n 50`); check MaxSessions and "
    "MaxStartups in sshd_config if many sessions run at once.",
)

CODES = (SSH_REFUSED, SSH_TIMEOUT, SSH_AUTH_FAILED, SSH_HOSTKEY_MISMATCH, SSH_ERROR)
_BY_CODE = {c.code: c for c in CODES}


def _advice(code: str, host: HostTarget, connect_timeout_s: float) -> str:
    addr, port = host.address or host.name, host.port
    if code == "ssh.refused":
        return (
            f"Nothing accepts connections on {addr}:{port}. Check that sshd runs "
            "(`systemctl status ssh`), that the port is right (`triagebot hosts show "
            f"{host.name}`), and that no firewall rejects it (`nc -vz {addr} {port}`)."
        )
    if code == "ssh.timeout":
        return (
            f"No answer from {addr}:{port} within {connect_timeout_s:g}s: the host is down, "
            "the address is wrong, or a firewall drops packets. Try "
            f"`nc -vz -w 5 {addr} {port}` and check security groups."
        )
    if code == "ssh.auth_failed":
        return (
            f"The key was not accepted for {host.user}: add its public key to "
            f"~{host.user}/.ssh/authorized_keys on the host, or fix --user/--key "
            f"(`triagebot hosts show {host.name}`)."
        )
    if code == "ssh.hostkey_mismatch":
        return (
            "The host key is not the pinned one, so nothing was run. If the host was rebuilt, "
            "verify the new fingerprint out of band (`ssh-keyscan -p PORT ADDR | ssh-keygen -lf -`)"
            f" and register it again (`triagebot hosts remove {host.name}` then `hosts add` with "
            "--host-key); otherwise treat it as a possible man-in-the-middle."
        )
    return (
        f"`triagebot hosts show {host.name}` for its registry entry; sshd's log on the host "
        "(`journalctl -u ssh -n 50`) says why the session failed."
    )


def unreachable(
    host: HostTarget, code: str, detail: str, *, connect_timeout_s: float, doing: str = ""
) -> Finding:
    """Critical: `host` could not be reached (`code` is an ExecutorError's), so nothing ran there.

    `doing` names what was to run there (e.g. "the curl check"), for `--from` commands.
    """
    what = _BY_CODE.get(code, SSH_ERROR)
    where = f"{host.user}@{host.address or host.name}:{host.port}"
    task = f" for {doing}" if doing else ""
    return what.finding(
        severity="critical",
        title=f"cannot reach {where}{task}: {detail}",
        detail=detail,
        evidence={"address": host.address, "port": host.port, "user": host.user},
        suggestion=_advice(what.code, host, connect_timeout_s),
        host=host.name,
    )
