"""The sandbox gateway: Stripe's test mode in process (test cards, 3-D Secure, idempotency keys, signed webhooks).

The default gateway of `make run` and the fast gateway of the unit and property suites. One SandboxNetwork per
process holds the state; SandboxPaymentGateway(account, network) is the PaymentGateway port for one account.
"""

from adapters.sandbox.errors import SandboxApiError
from adapters.sandbox.gateway import SandboxPaymentGateway
from adapters.sandbox.network import SandboxNetwork

__all__ = ["SandboxApiError", "SandboxNetwork", "SandboxPaymentGateway"]
