"""StripeError -> domain errors, so nothing above the adapter knows the SDK's exception types."""

from __future__ import annotations

from typing import Any

import stripe

from domain.errors import (
    AuthenticationRequired,
    CardDeclined,
    DomainError,
    GatewayAuthError,
    GatewayError,
    GatewayUnavailable,
    InvalidGatewayRequest,
)


def error_body(exc: stripe.StripeError) -> dict[str, Any]:
    """The `error` object of Stripe's answer, as a plain dict ({} when there was none)."""
    body = exc.json_body
    error = body.get("error") if isinstance(body, dict) else None
    return dict(error) if isinstance(error, dict) else {}


def translate(exc: stripe.StripeError) -> DomainError:
    message = exc.user_message or exc.__class__.__name__
    if isinstance(exc, stripe.CardError):
        if exc.code == "authentication_required":
            return AuthenticationRequired(message)
        decline_code = error_body(exc).get("decline_code")
        return CardDeclined(message, decline_code if isinstance(decline_code, str) else None,
                            exc.code or "card_declined")
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return GatewayUnavailable(message)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        # Stripe's own message may quote part of the key; say only what an operator needs to know.
        return GatewayAuthError("the gateway refused this account's credentials")
    if isinstance(exc, stripe.InvalidRequestError | stripe.IdempotencyError):
        return InvalidGatewayRequest(message)
    if isinstance(exc, stripe.APIError):
        # 5xx, and 409 lock timeouts: Stripe's side, safe to retry with the same idempotency key.
        return GatewayUnavailable(message)
    return GatewayError(message)
