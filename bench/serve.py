"""`python -m bench.serve hexpay|bare --port P --workers N`: a server under test, run the way `hexpay serve`
runs hexpay (uvicorn, uvloop and httptools picked automatically, no access log, N worker processes)."""

from __future__ import annotations

import argparse

import uvicorn

APPS = {"hexpay": "bench.hexpay_app:create_asgi_app", "bare": "bench.bare_app:create_app"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(APPS[args.app], factory=True, host="127.0.0.1", port=args.port, workers=args.workers,
                log_config=None, access_log=False, proxy_headers=True, loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
