"""localstripe (a Stripe-compatible server from PyPI, GPL, test-only) started for the tests.

`python -m tests.integration.localstripe_server --port N` runs it on 127.0.0.1 only (its own `start()` binds every
interface), with its pickle dump to /tmp disabled, and with a few gaps in its API filled so that hexpay's Stripe
adapter can send what it sends to Stripe. Each patch below names the gap; none changes a behaviour localstripe has.

`shared_localstripe()` starts one such server per test session (in a subprocess) and stops it at exit.
"""

from __future__ import annotations

import argparse
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
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "sk_test_hexpay_localstripe"
PUBLISHABLE_KEY = "pk_test_hexpay_localstripe"


# ---- inside the subprocess -----------------------------------------------------------------------------------
def _patch_localstripe() -> None:
    from localstripe import resources
    from localstripe.errors import UserError

    # Disk dump: every write pickles the whole store to /tmp/localstripe.pickle; tests need none of it, and two
    # sessions running at once would read each other's data.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]

    intent_init = resources.PaymentIntent.__init__

    def intent_init_accepting_stripe_params(self: Any, setup_future_usage: Any = None, description: Any = None,
                                            return_url: Any = None, **kwargs: Any) -> None:
        # Gap: localstripe refuses these PaymentIntent parameters that Stripe accepts; keep them, unused.
        intent_init(self, **kwargs)
        self.setup_future_usage = setup_future_usage
        self.description = description

    resources.PaymentIntent.__init__ = intent_init_accepting_stripe_params  # type: ignore[method-assign]

    confirm = resources.PaymentIntent._api_confirm.__func__  # type: ignore[attr-defined]

    def confirm_with_payment_method(cls: Any, id: Any, payment_method: Any = None, return_url: Any = None,
                                    **kwargs: Any) -> Any:
        # Gap: localstripe answers 500 "Not implemented" to confirm with a payment_method, and cannot confirm
        # again after a decline. Stripe sets the method and starts a new attempt, which is what this does.
        if payment_method is not None:
            intent = cls._api_retrieve(id)
            if intent._canceled or (intent.latest_charge is not None and intent.latest_charge.status != "failed"):
                raise UserError(400, "Bad request")
            resources.PaymentMethod._api_retrieve(payment_method)  # 404 when unknown, as at Stripe
            intent.payment_method = payment_method
            intent.latest_charge = None
            intent._authentication_failed = False
        return confirm(cls, id, **kwargs)

    resources.PaymentIntent._api_confirm = classmethod(confirm_with_payment_method)  # type: ignore[assignment]
    resources.extra_apis[:] = [
        (method, url, resources.PaymentIntent._api_confirm if url == "/v1/payment_intents/{id}/confirm" else func)
        for method, url, func in resources.extra_apis
    ]

    refund_init = resources.Refund.__init__

    def refund_init_accepting_reason(self: Any, reason: Any = None, **kwargs: Any) -> None:
        # Gap: localstripe refuses Stripe's `reason` parameter on refunds.
        refund_init(self, **kwargs)
        self.reason = reason

    resources.Refund.__init__ = refund_init_accepting_reason  # type: ignore[method-assign]

    charge_capture = resources.Charge._capture

    def capture_recording_amount(self: Any, amount: Any, on_success: Any = None) -> Any:
        # Gap: localstripe's charges have no amount_captured, so a partial capture would read as captured in full.
        self._amount_captured = resources.try_convert_to_int(amount)
        return charge_capture(self, amount, on_success)

    def amount_captured(self: Any) -> int:
        if not self.captured or self.status != "succeeded":
            return 0
        explicit = getattr(self, "_amount_captured", None)
        return int(explicit) if isinstance(explicit, int) else int(self.amount)

    resources.Charge._capture = capture_recording_amount  # type: ignore[method-assign]
    resources.Charge.amount_captured = property(amount_captured)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _patch_localstripe()
    from aiohttp import web
    from localstripe.server import app  # routes are built at import, after the patches above

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
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
