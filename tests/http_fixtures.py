"""HTTP(S) servers on loopback for the `http` command's tests: one asyncio server, many paths.

Paths: /ok 200 (with layer headers), /502, /504, /404, /slow (first byte after SLOW_S),
/hang (reads the request, never answers), /close (hangs up without a response),
/redirect/N (a chain of N redirects ending at /ok), /loop (redirects to itself),
/auth (401 unless Basic user:secret), /to/HOST:PORT/PATH (a redirect to http://HOST:PORT/PATH,
for the target rules). Every response closes the connection, so each hop
connects anew. TLS servers get their certificates from trustme.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

SLOW_S = 0.5
TLS_NAME = "test.example"
BASIC = "Basic " + base64.b64encode(b"user:secret").decode()
LAYER = {"Server": "test-origin", "Via": "1.1 test-lb", "X-Cache": "MISS"}


class Server:
    """An asyncio HTTP/1.1 server on HOST port 0; `url(path)` points at it."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self.requests: list[dict[str, str]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()  # /hang waits for it: cancelling would log noise

    async def start(self) -> Server:
        """Listen; returns self."""
        self._server = await asyncio.start_server(self._accept, self.host, 0, ssl=self.tls)
        return self

    @property
    def port(self) -> int:
        """The port the kernel chose."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, path: str = "/ok", host: str | None = None) -> str:
        """A URL for `path` on this server (`host` for the Host/SNI name, default the IP)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    async def close(self) -> None:
        """Stop listening and drop every connection, including the hanging ones."""
        self._closing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.readexactly(1)
        if first == b"\x16":  # a TLS ClientHello on a plain port: answer as nginx does
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        head = (first + await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        line, *lines = head.split("\r\n")
        method, path, _ = line.split(" ", 2)
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
        self.requests.append({"method": method, "path": path, **headers})
        if path == "/hang":
            await self._closing.wait()
            return
        if path == "/close":
            return
        if path == "/slow":
            await asyncio.sleep(SLOW_S)
        status, extra = self._route(path, headers)
        body = b"" if method == "HEAD" else f"{status}\n".encode()
        fields = {**LAYER, **extra, "Content-Length": str(len(body)), "Connection": "close"}
        if status in (502, 504):
            fields["Server"] = "test-proxy"
        text = f"HTTP/1.1 {status} {_REASONS.get(status, 'X')}\r\n"
        text += "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        writer.write(text.encode() + body)
        await writer.drain()

    @staticmethod
    def _route(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        if path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            return 302, {"Location": f"/redirect/{left - 1}" if left > 1 else "/ok"}
        if path.startswith("/to/"):
            return 302, {"Location": "http://" + path.removeprefix("/to/")}
        if path == "/loop":
            return 302, {"Location": "/loop"}
        if path == "/auth":
            return (200 if headers.get("authorization") == BASIC else 401), {}
        code = path.strip("/")
        return (int(code), {}) if code.isdigit() else (200, {})


_REASONS = {200: "OK", 302: "Found", 401: "Unauthorized", 404: "Not Found"}
_REASONS.update({502: "Bad Gateway", 504: "Gateway Timeout"})

Serve = Callable[..., Awaitable[Server]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start servers (`await serve(tls=ctx, host=...)`); all are closed after the test."""
    servers: list[Server] = []

    async def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Server:
        server = await Server(host, tls).start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def http_server(serve: Serve) -> Server:
    """A plain HTTP server on 127.0.0.1."""
    return await serve()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    """The CA the client is told to trust."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`test_ca`'s certificate as a PEM file (for HttpOptions.ca_file and curl --cacert)."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def _self_signed_context(tmp: Path) -> ssl.SSLContext:
    # A CA's own certificate served as the leaf: self-signed, and trusted by nobody.
    other = trustme.CA()
    cert, key = tmp / "self.pem", tmp / "self.key"
    other.cert_pem.write_to_path(str(cert))
    other.private_key_pem.write_to_path(str(key))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


@pytest.fixture(scope="session")
def tls_contexts(
    test_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ssl.SSLContext]:
    """Server TLS contexts by case: valid, expired, self-signed, unknown CA, name mismatch."""
    now = datetime.now(UTC)
    past = {"not_before": now - timedelta(days=30), "not_after": now - timedelta(days=1)}
    return {
        "valid": _server_context(test_ca.issue_cert(TLS_NAME)),
        "expired": _server_context(test_ca.issue_cert(TLS_NAME, **past)),
        "self-signed": _self_signed_context(tmp_path_factory.mktemp("self")),
        "unknown CA": _server_context(trustme.CA().issue_cert(TLS_NAME)),
        "name mismatch": _server_context(test_ca.issue_cert("other.example")),
    }
