"""How hexpay talks to Stripe: one StripeClient per gateway account, configured here and nowhere else."""

from __future__ import annotations

import stripe
from stripe._base_address import BaseAddresses  # the SDK exports the TypedDict from this module only

from domain.gateway_account import GatewayAccount

# The API version every request asks for. Pinned explicitly (not taken from the SDK) so an SDK upgrade cannot
# silently change the shape of what Stripe returns; it is the version stripe-python 16 is generated against, and
# the webhook endpoint at Stripe should be created with the same version so events have the same shapes.
API_VERSION = "2026-10-28.endive"

# The SDK retries connection errors, 409 lock timeouts, 429 and 5xx answers that Stripe marks retryable, with
# backoff and the SAME idempotency key, so a retry can never create a second object. Two retries absorb a blip
# without holding a shopper's request for long; anything longer surfaces as GatewayUnavailable and is retried by
# the caller or the reconciliation job, again with the same key.
MAX_NETWORK_RETRIES = 2

# Per attempt. Stripe answers in well under a second normally; the SDK's 80 s default would pin a worker.
REQUEST_TIMEOUT_SECONDS = 30.0


def stripe_client_for(account: GatewayAccount, http_client: stripe.HTTPClient) -> stripe.StripeClient:
    """A client bound to this account's secret key (and, in tests, to a Stripe-compatible server's api_base)."""
    base_addresses: BaseAddresses = {}
    if account.credentials.api_base:
        base_addresses["api"] = account.credentials.api_base.rstrip("/")
    return stripe.StripeClient(
        account.credentials.secret_key.reveal(),
        stripe_version=API_VERSION,
        base_addresses=base_addresses,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=http_client,  # httpx, for the *_async calls; the caller owns it and closes it
    )
