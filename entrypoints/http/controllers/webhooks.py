"""Gateway webhooks: the raw body and headers go to the use case untouched (the signature covers the bytes)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import FromPath

from application.use_cases.webhooks import HandleGatewayWebhook
from domain.errors import InvalidSignature
from entrypoints.http.auth import PUBLIC
from entrypoints.http.controllers._openapi import problems
from entrypoints.http.dependencies import Injected
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.schemas.common import Out

PATHS = ["/api/store/payments/callback/{gateway:str}", "/api/v1/store/payments/callback/{gateway:str}"]


class WebhookReceived(Out):
    received: bool
    duplicate: bool


@post(
    PATHS,
    status_code=200,
    opt={"audience": PUBLIC},
    tags=["gateways"],
    responses=problems(400, 404, 413),
    summary="A gateway's webhook; `gateway` is the account id, or its kind when one active account has it",
)
async def receive_webhook(
    request: Request[Any, Any, Any], gateway: FromPath[str], handle_webhook: Injected[HandleGatewayWebhook]
) -> WebhookReceived:
    metrics: HttpMetrics = request.app.state.metrics
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        result = await handle_webhook(gateway, body, headers)
    except InvalidSignature:
        metrics.observe_webhook("unverified", "invalid_signature")
        raise
    metrics.observe_webhook(result.event_type, "duplicate" if result.duplicate else result.outcome)
    return WebhookReceived(received=True, duplicate=result.duplicate)
