"""Foreign errors (OSError, asyncssh) become the ExecutorError tree here, at the boundary:

ConnectionRefusedError                        -> ConnectRefused
asyncssh.ConnectionLost, other DisconnectError,
  ChannelOpenError (the server hung up on us) -> ConnectRefused
TimeoutError, EHOSTUNREACH, ENETUNREACH,
  other OSError (DNS, routing)                -> ConnectTimeout
asyncssh.PermissionDenied                     -> AuthFailed
asyncssh.HostKeyNotVerifiable, no pinned key  -> HostKeyMismatch
unreadable or invalid key file                -> InputError (a user mistake)
"""

from __future__ import annotations

import errno

import asyncssh
from asyncssh import SSHKey

from ssh_probes.errors import (
    AuthFailed,
    ConnectRefused,
    ConnectTimeout,
    ExecutorError,
    HostKeyMismatch,
    InputError,
)


def map_error(host: str, exc: BaseException, doing: str = "connecting") -> ExecutorError:
    """The ExecutorError for a foreign exception raised while `doing`."""
    if isinstance(exc, ExecutorError):
        return exc
    if isinstance(exc, asyncssh.PermissionDenied):
        return AuthFailed(host, f"{doing}: server rejected our key ({exc.reason})")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return HostKeyMismatch(host, f"{doing}: host key is not the pinned one ({exc.reason})")
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ChannelOpenError):
        return ConnectRefused(host, f"{doing}: server closed the connection ({exc.reason})")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectRefused(host, f"{doing}: connection refused")
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(host, f"{doing}: no answer in time")
    if isinstance(exc, OSError):
        why = {
            errno.EHOSTUNREACH: "host unreachable",
            errno.ENETUNREACH: "network unreachable",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        return ConnectTimeout(host, f"{doing}: {why}")
    return ConnectRefused(host, f"{doing}: {type(exc).__name__}: {exc}")


def load_client_key(path: str) -> SSHKey:
    """The user's private key; an unreadable or invalid file is the user's InputError."""
    try:
        return asyncssh.read_private_key(path)
    except OSError as exc:
        raise InputError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise InputError(f"cannot read key file {path}: {exc}") from exc
