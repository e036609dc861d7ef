"""`hexpay serve --workers N`'s listening sockets (entrypoints/workers.py): one per worker on one address, and
none left open when the address cannot be had. The workers themselves: tests/e2e/test_serve_workers.py."""

from __future__ import annotations

import socket

import pytest

from entrypoints import workers

pytestmark = pytest.mark.skipif(not workers.spreads_by_hash(), reason="SO_REUSEPORT spreads on Linux")


def test_port_0_binds_every_socket_to_the_port_the_first_one_took() -> None:
    sockets = workers.bind_sockets("127.0.0.1", 0, 3)
    try:
        addresses = {sock.getsockname() for sock in sockets}
        assert len(addresses) == 1 and next(iter(addresses))[1] != 0
        assert len({sock.fileno() for sock in sockets}) == 3
        assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for sock in sockets)
        # Each is listening: a connection to the port is accepted by one of them.
        with socket.create_connection(addresses.pop(), timeout=2):
            pass
    finally:
        for sock in sockets:
            sock.close()


def test_an_address_in_use_without_reuseport_fails_and_leaves_nothing_open() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    opened: list[socket.socket] = []
    real_socket = socket.socket

    def recording(*args: object) -> socket.socket:
        sock = real_socket(*args)  # type: ignore[arg-type]
        opened.append(sock)
        return sock

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(workers.socket, "socket", recording)
            with pytest.raises(OSError):
                workers.bind_sockets("127.0.0.1", taken.getsockname()[1], 2)
        assert opened and all(sock.fileno() == -1 for sock in opened)  # closed
    finally:
        taken.close()

