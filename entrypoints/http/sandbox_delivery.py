"""Delivers the sandbox's signed webhooks to the account's callback path through the app itself.

Over an in-process ASGI transport, so the real route, signature check, inbox and settlement run with no network,
in tests and in the server alike. The sandbox calls this from a background task after the gateway call that
caused the event has returned (see adapters.sandbox.webhooks).
"""

from __future__ import annotations

import httpx
from litestar.types import ASGIApp

# GatewayAccount.webhook_path: the path the gateway is told to call.
CALLBACK_PATH = "/api/store/payments/callback/{account_id}"


class WebhookRejected(Exception):
    pass


class InProcessWebhookSender:
    """The sandbox's WebhookSender. Attached to the app once the app exists (create_app does it)."""

    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    def attach(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, account_id: str, body: bytes, headers: dict[str, str]) -> None:
        if self._app is None:
            raise WebhookRejected("no app to deliver to yet")
        transport = httpx.ASGITransport(app=self._app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://hexpay.internal") as client:
            response = await client.post(CALLBACK_PATH.format(account_id=account_id), content=body, headers=headers)
        if response.status_code >= 300:
            raise WebhookRejected(f"callback answered {response.status_code}")
