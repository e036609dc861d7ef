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
Linux lets a socket join the port's group only from a process of the same user, so another account on the host
cannot take a share of hexpay's connections by binding the port too.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE  # the exit code of a worker that never started serving

APP = "entrypoints.http.asgi:create_asgi_app"
BACKLOG = 2048  # uvicorn's default
CHECK_EVERY_S = 0.5
STOP_WAIT_S = 30.0  # a worker still finishing its requests after this long is killed
READY_WAIT_S = 60.0  # a reload gives up on a new worker that has not started serving in this long

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
    app: str = APP  # an app factory, "module:function"

    def uvicorn_config(self) -> dict[str, Any]:
        """uvicorn's settings for hexpay, with one worker or uvicorn's own several (`hexpay serve --shared-socket`):
        no access log (the app writes its own line per request), the proxy's X-Forwarded-* headers trusted."""
        return {"app": self.app, "factory": True, "host": self.host, "port": self.port, "log_config": None,
                "access_log": False, "proxy_headers": True}


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that says when it is serving: the supervisor retires an old worker only once its
    replacement is (the event is set after uvicorn's startup, the app's lifespan included)."""

    def __init__(self, config: uvicorn.Config, ready: EventType) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()


def serve_one(options: ServeOptions, sock: socket.socket, ready: EventType) -> None:
    """A worker: uvicorn serving the app on this socket alone (SIGINT or SIGTERM ends it gracefully)."""
    server = _ReadyServer(uvicorn.Config(**options.uvicorn_config()), ready)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


@dataclass
class _Running:
    process: BaseProcess
    ready: EventType


class Supervisor:
    """Starts a worker per socket and replaces one that dies; SIGHUP replaces them all, one at a time, each old
    worker retired only once its replacement serves (a reload after a deploy, as uvicorn's own supervisor does it);
    SIGINT or SIGTERM stops them all."""

    def __init__(self, options: ServeOptions, sockets: list[socket.socket]) -> None:
        self.options, self.sockets = options, sockets
        self._context = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
        self.workers: list[_Running] = []
        self.stopping = threading.Event()
        self.reload_asked = False
        self.failed = False

    def _start(self, index: int) -> _Running:
        ready = self._context.Event()
        process = self._context.Process(target=serve_one, args=(self.options, self.sockets[index], ready),
                                        name=f"hexpay-worker-{index}")
        process.start()
        return _Running(process, ready)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload_asked = True
        else:
            self.stopping.set()

    def run(self) -> int:
        """Serves until told to stop; 0, or 1 when a worker could not start (the app or its settings are broken,
        and a replacement would fail the same way)."""
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        try:
            host, port = self.sockets[0].getsockname()[:2]
            self.workers = [self._start(index) for index in range(len(self.sockets))]
            _log.info("serving", extra={"address": f"http://{host}:{port}", "workers": len(self.workers),
                                        "pids": [w.process.pid for w in self.workers]})
            while not self.stopping.wait(CHECK_EVERY_S):
                self.replace_dead()
                if self.reload_asked:
                    self.reload_asked = False
                    self.reload()
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 1 if self.failed else 0

    def replace_dead(self) -> None:
        for index, worker in enumerate(self.workers):
            exitcode = worker.process.exitcode
            if exitcode is None or self.stopping.is_set():
                continue
            if exitcode == STARTUP_FAILURE or (exitcode > 0 and not worker.ready.is_set()):
                # It ended by itself before it served: the app, its settings or the database refused it, and would
                # refuse a replacement alike (uvicorn exits 1 on an app that cannot be imported or built, 3 on a
                # failed startup). One killed by a signal (a negative exit code) is replaced.
                _log.error("worker could not start; stopping", extra={"pid": worker.process.pid,
                                                                      "exitcode": exitcode})
                self.failed = True
                self.stopping.set()
                return
            self.workers[index] = self._start(index)
            _log.warning("worker replaced", extra={"pid": worker.process.pid, "exitcode": exitcode,
                                                   "replacement": self.workers[index].process.pid})

    def reload(self) -> None:
        """Each worker in turn: its replacement started on the same socket, the old one retired once the new one
        serves. A replacement that does not start in READY_WAIT_S is killed and the rest keep their old workers."""
        for index, old in enumerate(self.workers):
            if self.stopping.is_set():
                return
            new = self._start(index)
            deadline = time.monotonic() + READY_WAIT_S
            while not new.ready.wait(CHECK_EVERY_S):
                if new.process.exitcode is not None or time.monotonic() > deadline or self.stopping.is_set():
                    _log.error("reload stopped: a new worker did not start", extra={"pid": new.process.pid})
                    new.process.kill()
                    new.process.join()
                    return
            self.workers[index] = new
            self._retire([old])
        _log.info("reloaded", extra={"pids": [w.process.pid for w in self.workers]})

    def _retire(self, workers: list[_Running]) -> None:
        for worker in workers:
            if worker.process.exitcode is None and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)  # uvicorn's graceful shutdown: finish what is in flight
        for worker in workers:
            worker.process.join(STOP_WAIT_S)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()

    def stop(self) -> None:
        self._retire(self.workers)
        for sock in self.sockets:
            sock.close()

