"""The one error tree of triagebot.

    TriagebotError                 root: anything triagebot raises on purpose
     +-- InputError                a user mistake: one line, exit 2, ephemeral in Slack
     +-- ConfigError               a setting or file the operator gave is wrong
     +-- StoreError                the database cannot be reached or written
     +-- ExecutorError             a host could not be reached; carries a finding code
          +-- ConnectRefused       ssh.refused
          +-- ConnectTimeout       ssh.timeout
          +-- AuthFailed           ssh.auth_failed
          +-- HostKeyMismatch      ssh.hostkey_mismatch

A failed command on a host is not an exception: it is a CommandResult with a non-zero
exit status. A failed probe is a ProbeResult with ok=False. Foreign exceptions (asyncssh,
OSError, SQLAlchemy) are mapped to this tree at the boundary that meets them.
"""

from __future__ import annotations


class TriagebotError(Exception):
    """Root of every error triagebot raises on purpose."""


class InputError(TriagebotError):
    """A user mistake, reported as one line and exit status 2."""


class ConfigError(TriagebotError):
    """An operator-supplied setting or file is invalid."""


class StoreError(TriagebotError):
    """The database could not be reached or written."""


class ExecutorError(TriagebotError):
    """A host could not be reached or refused us; `code` is the finding code."""

    code = "ssh.error"

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"{host}: {detail}")
        self.host = host
        self.detail = detail


class ConnectRefused(ExecutorError):
    """The TCP connection to the SSH port was refused."""

    code = "ssh.refused"


class ConnectTimeout(ExecutorError):
    """The connection or login did not complete in time, or the host is unreachable."""

    code = "ssh.timeout"


class AuthFailed(ExecutorError):
    """The server rejected our user key."""

    code = "ssh.auth_failed"


class HostKeyMismatch(ExecutorError):
    """The server's host key is not the one pinned in the registry (or none is pinned)."""

    code = "ssh.hostkey_mismatch"
