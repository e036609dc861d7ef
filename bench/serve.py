"""`python -m bench.serve hexpay|bare --port P [--workers N]`: a server under test, run with uvicorn as `hexpay serve`
runs hexpay (uvloop and httptools, no access log); N worker processes share one socket there, as with
`hexpay serve --shared-socket` (`hexpay serve --workers N` gives each worker a socket of its own, bound with
SO_REUSEPORT, which spreads connections by hash: entrypoints/workers.py).

`--ports P1,P2,...`: one single-worker server per port instead, as instances behind a load balancer. The bench
runs every server of several workers this way and spreads its connections evenly over the ports: uvicorn's
workers accept from one shared socket, and the load's 32 keep-alive connections land wherever the kernel wakes a
worker, so one worker could hold most of them and saturate its core while the other idled (a busiest-worker share
of 0.87 of the server's CPU was measured; 0.50 is even), which made a ratio between two systems as much about how
their connections happened to land as about their code."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
from types import FrameType

import uvicorn

from entrypoints.workers import ServeOptions

APPS = {"hexpay": "bench.hexpay_app:create_asgi_app", "bare": "bench.bare_app:create_app"}


def _run(app: str, port: int, workers: int) -> None:
    # hexpay serve's own uvicorn settings, with uvloop and httptools required rather than picked when installed:
    # a server that fell back to asyncio's loop would run at half speed and say nothing.
    uvicorn.run(**ServeOptions(host="127.0.0.1", port=port, app=APPS[app]).uvicorn_config(), workers=workers,
                loop="uvloop", http="httptools")


def _serve_each(app: str, ports: list[int]) -> None:
    """A single-worker server per port, forked from this process; SIGINT or SIGTERM here stops them all."""
    servers = [multiprocessing.Process(target=_run, args=(app, port, 1), daemon=False) for port in ports]
    for server in servers:
        server.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        for server in servers:
            if server.pid is not None and server.is_alive():
                os.kill(server.pid, signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for server in servers:
        server.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(APPS))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int)
    where.add_argument("--ports", type=lambda text: [int(p) for p in text.split(",")])
    parser.add_argument("--workers", type=int, default=1, help="with --port: uvicorn's workers on its one socket")
    args = parser.parse_args()
    if args.ports and len(args.ports) > 1:
        _serve_each(args.app, args.ports)
    elif args.ports:
        _run(args.app, args.ports[0], 1)  # served by this process itself, as the bench's one-worker pid expects
    else:
        _run(args.app, args.port, args.workers)


if __name__ == "__main__":
    main()
