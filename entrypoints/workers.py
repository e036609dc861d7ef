"""`hexpay serve --workers N`: N uvicorn worker processes, each accepting on a listening socket of its own.

uvicorn's own `--workers` has every worker accept from one shared socket, so a connection goes to whichever worker
the kernel wakes first. Keep-alive connections stay where they landed: a proxy holding a few long-lived upstream
connections, or the bench's 32, could find most of them on one worker, which saturated its core while the others
idled (the bench measured the busiest of two workers at 0.87 of the server's CPU; README, Performance, item 56).
Here each worker has its own socket, all bound to the same address with SO_REUSEPORT, and Linux hands each new
connection to one of them by a hash of its addresses and ports: independent of which worker happens to be awake,
so the connections spread evenly on average whatever the load.

The sockets are bound here, in the supervising process, before any worker starts: a bad address fails at once,
and a worker that dies is replaced on the same socket, so the connections the kernel hashes to it wait in its
backlog for the replacement instead of being refused. Where SO_REUSEPORT does not spread connections (it exists
on macOS and the BSDs with other semantics; Windows has none) `hexpay serve` keeps uvicorn's shared socket.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

APP = "entrypoints.http.asgi:create_asgi_app"
BACKLOG = 2048  # uvicorn's default
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that never started serving (uvicorn.config.STARTUP_FAILURE)
CHECK_EVERY_S = 0.5
STOP_WAIT_S = 30.0  # a worker still finishing its requests after this long is killed

_log = logging.getLogger("hexpay.serve")


def spreads_by_hash() -> bool:
    """Whether this system spreads connections over sockets bound with SO_REUSEPORT (Linux 3.9 and later)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one address, each with SO_REUSEPORT. Port 0 takes a free port for the first
    and binds the rest to the same one."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
            address = sock.getsockname()  # the port the first one took, when it was 0
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@dataclass(frozen=True)
class ServeOptions:
    """What every worker's uvicorn is given (picklable: workers are started with multiprocessing's spawn)."""

    host: str
    port: int
    proxy_headers: bool = True

    def uvicorn_config(self) -> dict[str, Any]:
        return {"app": APP, "factory": True, "host": self.host, "port": self.port, "log_config": None,
                "access_log": False, "proxy_headers": self.proxy_headers}


def serve_one(options: ServeOptions, sock: socket.socket) -> None:
    """A worker: uvicorn serving the app on this socket alone (SIGINT or SIGTERM ends it gracefully)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(**options.uvicorn_config()))
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class Supervisor:
    """Starts a worker per socket, replaces one that dies, and on SIGINT or SIGTERM stops them all."""

    def __init__(self, options: ServeOptions, sockets: list[socket.socket]) -> None:
        self.options, self.sockets = options, sockets
        self._context = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
        self.workers: list[BaseProcess] = []
        self.stopping = threading.Event()
        self.failed = False

    def _start(self, index: int) -> BaseProcess:
        worker = self._context.Process(target=serve_one, args=(self.options, self.sockets[index]),
                                       name=f"hexpay-worker-{index}")
        worker.start()
        return worker

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        """Serves until told to stop; 0, or 1 when a worker could not start (the app or its settings are broken,
        and a replacement would fail the same way)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        host, port = self.sockets[0].getsockname()[:2]
        self.workers = [self._start(index) for index in range(len(self.sockets))]
        _log.info("serving", extra={"address": f"http://{host}:{port}", "workers": len(self.workers),
                                    "pids": [w.pid for w in self.workers]})
        while not self.stopping.wait(CHECK_EVERY_S):
            self.replace_dead()
        self.stop()
        return 1 if self.failed else 0

    def replace_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.exitcode is None or self.stopping.is_set():
                continue
            if worker.exitcode == STARTUP_FAILURE:
                _log.error("worker could not start; stopping", extra={"pid": worker.pid})
                self.failed = True
                self.stopping.set()
                return
            self.workers[index] = self._start(index)
            _log.warning("worker replaced", extra={"pid": worker.pid, "exitcode": worker.exitcode,
                                                   "replacement": self.workers[index].pid})

    def stop(self) -> None:
        for worker in self.workers:
            if worker.exitcode is None and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)  # uvicorn's graceful shutdown: finish what is in flight
        for worker in self.workers:
            worker.join(STOP_WAIT_S)
            if worker.exitcode is None:
                worker.kill()
                worker.join()
        for sock in self.sockets:
            sock.close()


def serve_workers(options: ServeOptions, workers: int) -> int:
    return Supervisor(options, bind_sockets(options.host, options.port, workers)).run()
