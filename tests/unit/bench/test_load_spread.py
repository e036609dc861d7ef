"""The load client spreads its connections evenly over the server's ports, one port per worker (bench.load,
bench.serve --ports): with one shared socket the kernel decided which worker took each keep-alive connection, and a
worker holding most of them saturated its core while the other idled."""

from __future__ import annotations

import asyncio
from collections import Counter

from bench.load import Job, raw_request, run

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


async def _server(seen: Counter[int], answered: Counter[int]) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen[port] += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(_ANSWER)
                answered[port] += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port


async def test_the_connections_are_spread_evenly_over_the_ports() -> None:
    seen: Counter[int] = Counter()
    answered: Counter[int] = Counter()
    servers = [await _server(seen, answered) for _ in range(2)]
    ports = [port for _, port in servers]
    try:
        request = raw_request("GET", "/", {}, b"")
        result = await run(Job(ports, connections=32, duration=0.3, requests=[request] * 50, cycle=True))
    finally:
        for server, _ in servers:
            server.close()
            await server.wait_closed()
    assert dict(seen) == {ports[0]: 16, ports[1]: 16}
    assert all(answered[port] > 0 for port in ports)
    assert len(result.outcomes) == sum(answered.values()) and not result.errors


async def test_one_port_takes_every_connection() -> None:
    seen: Counter[int] = Counter()
    answered: Counter[int] = Counter()
    server, port = await _server(seen, answered)
    try:
        await run(Job([port], connections=5, duration=0.1, requests=[raw_request("GET", "/", {}, b"")], cycle=True))
    finally:
        server.close()
        await server.wait_closed()
    assert dict(seen) == {port: 5}
