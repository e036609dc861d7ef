"""hexpay's production app (entrypoints.http.asgi), with one difference: the sandbox gateway does not post its own
webhooks back to this process. With Stripe those arrive as separate requests, spread over the workers, and the
webhook scenario measures exactly that; delivered in process they would add a webhook or two to every create and
confirm, measured against a bare handler that does not have them."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.http.asgi import create_asgi_app as production_app


def create_asgi_app() -> Litestar:
    app = production_app()
    app.state.container.sandbox_network().set_webhook_sender(None)
    return app
