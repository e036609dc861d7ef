"""The Stripe gateway adapter: the PaymentGateway port on the official stripe-python SDK."""

from adapters.stripe.client import API_VERSION
from adapters.stripe.gateway import StripePaymentGateway, stripe_gateway_kind

__all__ = ["API_VERSION", "StripePaymentGateway", "stripe_gateway_kind"]
