"""Small real programs that write real application logs, for the logs probe's tests.

`python -m tests.lab.logapps errors PATH --count N`: an app whose database is down (real
ConnectionRefusedError from a closed loopback port) logs N errors, one failing order with a
real traceback (`logging.exception`), and a connection URL with a password.
`python -m tests.lab.logapps timeouts PATH --count N`: an app whose upstream accepts and
never answers (a silent server on 127.0.0.1) logs N read timeouts from urllib and one
`curl -m` timeout, with no stack trace. Only loopback is ever contacted. PATH `/dev/log`
(or journald's `/run/systemd/journal/dev-log`)
sends the records to the local syslog socket (journald) instead of a file.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import socket
import subprocess
import threading
import urllib.request
import uuid

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def errors(log: logging.Logger, count: int) -> None:
    """Database down: `count` refused connections, one traceback, one URL with a password."""
    log.info("starting worker, %d jobs queued", count)
    port = _closed_port()
    for attempt in range(1, count + 1):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError as exc:
            log.error(
                "could not connect to database at 127.0.0.1:%d (attempt %d): %s", port, attempt, exc
            )
    log.error("giving up on postgresql://app:s3cret-pw@127.0.0.1:%d/orders", port)
    try:
        totals: dict[str, int] = {}
        order = str(uuid.uuid4())
        totals[order] += 1
    except KeyError:
        log.exception("order %s failed", order)
    log.info("worker stopped")


def _silent_server() -> socket.socket:
    """Accepts connections on 127.0.0.1 and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return srv


def timeouts(log: logging.Logger, count: int) -> None:
    """Upstream hangs: `count` urllib read timeouts and one curl timeout, no traceback."""
    srv = _silent_server()
    port = srv.getsockname()[1]
    log.info("polling upstream on 127.0.0.1:%d", port)
    for i in range(1, count + 1):
        url = f"http://127.0.0.1:{port}/api/v1/users/{i}"
        try:
            urllib.request.urlopen(url, timeout=0.2).close()
        except OSError as exc:
            log.error("GET %s failed: %s", url, exc)
    curl = subprocess.run(
        ["curl", "-sS", "-m", "0.3", f"http://127.0.0.1:{port}/health"],
        capture_output=True,
        text=True,
        check=False,
    )
    log.error("health check failed: %s", curl.stderr.strip())
    srv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("errors", "timeouts"))
    parser.add_argument("path")
    parser.add_argument("--count", type=int, default=12)
    args = parser.parse_args()
    name = "orders" if args.kind == "errors" else "gateway"
    if args.path in ("/dev/log", "/run/systemd/journal/dev-log"):
        # To the local syslog socket (journald): one record per message, traceback included.
        handler: logging.Handler = logging.handlers.SysLogHandler(address=args.path)
        handler.setFormatter(logging.Formatter(f"{name}[%(process)d]: %(levelname)s %(message)s"))
        logging.basicConfig(handlers=[handler], level=logging.INFO)
    else:
        logging.basicConfig(filename=args.path, format=FORMAT, level=logging.INFO)
    log = logging.getLogger(name)
    (errors if args.kind == "errors" else timeouts)(log, args.count)


if __name__ == "__main__":
    main()
