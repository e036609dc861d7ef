"""localstripe (a Stripe-compatible server from PyPI, GPL, test-only) started for the tests.

`python -m tests.integration.localstripe_server --port N` runs it on 127.0.0.1 only (its own `start()` binds every
interface), with its pickle dump to /tmp disabled and the gaps listed in localstripe_patches filled, so that
hexpay's Stripe adapter can send what it sends to Stripe and get Stripe's answers.

`shared_localstripe()` starts one such server per test session (in a subprocess) and stops it at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "sk_test_hexpay_localstripe"
PUBLISHABLE_KEY = "pk_test_hexpay_localstripe"


# ---- inside the subprocess -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from tests.integration import localstripe_patches

    localstripe_patches.apply()
    from aiohttp import web
    from localstripe.server import app  # routes are built at import, after the patches above

    async def exit_with_the_test_session(app: web.Application) -> None:
        # The test process holds our stdin open; when it dies, even without running atexit, the pipe closes and
        # localstripe must not stay running behind it.
        def on_stdin() -> None:
            if not os.read(sys.stdin.fileno(), 1024):
                os._exit(0)

        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), on_stdin)

    app.on_startup.append(exit_with_the_test_session)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, handle_signals=True)


# ---- in the test process --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalStripeServer:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_localstripe(timeout: float = 20.0) -> LocalStripeServer:
    """Start the patched localstripe on a free 127.0.0.1 port; raise RuntimeError if it does not answer."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.localstripe_server", "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    server = LocalStripeServer(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
            raise RuntimeError(f"localstripe exited with {process.returncode}: {stderr}")
        if _answers(f"{server.api_base}/js.stripe.com/v3/"):  # the one route that needs no key
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"localstripe did not answer on port {port} within {timeout} s")


_shared: LocalStripeServer | None = None
_failure: str | None = None


def shared_localstripe() -> LocalStripeServer:
    """One server per test session: started on first use, stopped when the test process exits."""
    global _shared, _failure
    if _failure is not None:
        raise RuntimeError(_failure)
    if _shared is None or _shared.process.poll() is not None:
        try:
            _shared = start_localstripe()
        except (RuntimeError, OSError) as exc:
            _failure = str(exc)
            raise
        atexit.register(_shared.stop)
    return _shared


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
