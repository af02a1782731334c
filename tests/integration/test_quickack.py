"""ssh_probes.quickack on real TCP sockets: every read leaves the socket acking at once."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from ssh_probes.executor import SSHExecutor, SSHOptions
from ssh_probes.quickack import QUICKACK, ack_at_once
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.skipif(QUICKACK is None, reason="TCP_QUICKACK is Linux's")


class Client(asyncio.Protocol):
    """Records what it reads; `read` resolves after each read has been handled."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.data = b""
        self.read: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if not self.read.done():
            self.read.set_result(None)

    def get_extra_info(self, name: str) -> Any:
        assert self.transport is not None
        return self.transport.get_extra_info(name)


async def exchange(client: Client, message: bytes) -> int:
    """Send, wait for the echo to be read and handled; then the socket's quick-ACK state."""
    client.read = asyncio.get_running_loop().create_future()
    assert client.transport is not None
    client.transport.write(message)
    await client.read
    sock = client.get_extra_info("socket")
    return int(sock.getsockopt(socket.IPPROTO_TCP, QUICKACK))


async def test_every_read_rearms_quick_acks_and_passes_data_through() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(Client, "127.0.0.1", port)
    try:
        assert ack_at_once(client) is True
        # A read right after the process sent data: Linux would delay the next ACK
        # (ping-pong mode); after each read the wrapper has left that mode again.
        for i in range(5):
            assert await exchange(client, f"ping {i};".encode()) == 1
        assert client.data == b"".join(f"ping {i};".encode() for i in range(5))
    finally:
        assert client.transport is not None
        client.transport.close()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_closed_socket_stops_nothing() -> None:
    async def quiet(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(quiet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await asyncio.get_running_loop().create_connection(Client, "127.0.0.1", port)
    try:
        assert ack_at_once(client)
        await client.read
        # The socket is gone under the wrapper: a read is still handed on, nothing raises.
        assert client.transport is not None
        raw = client.transport.get_extra_info("socket")
        client.transport.abort()
        await asyncio.sleep(0)
        client.data_received(b" again")  # the wrapper's setsockopt fails on a closed fd
        assert client.data == b"hello again"
        assert raw.fileno() == -1
    finally:
        server.close()
        await server.wait_closed()


def test_without_a_socket_it_says_so() -> None:
    class NoSocket:
        def get_extra_info(self, name: str) -> None:
            return None

        def data_received(self, data: bytes) -> None:
            raise AssertionError("not wrapped, not called")

    conn = NoSocket()
    assert ack_at_once(conn) is False
    assert "data_received" not in vars(conn)


@pytest.mark.lab
async def test_ssh_connections_ack_at_once(lab_host: LabHost) -> None:
    executor = SSHExecutor(target_for(lab_host), SSHOptions(connect_timeout_s=3.0))
    try:
        await executor.connect()
        conn = executor._conn
        assert conn is not None and "data_received" in vars(conn)
        first = await executor.run(["sh", "-c", "echo one"])
        second = await executor.run(["sh", "-c", "echo two"])
        assert (first.stdout, second.stdout) == ("one\n", "two\n")
    finally:
        await executor.close()
