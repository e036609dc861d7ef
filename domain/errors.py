"""Domain errors. Each carries a stable machine code that the HTTP layer maps to a status."""

from __future__ import annotations


class DomainError(Exception):
    code = "unprocessable"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__


class ValidationFailed(DomainError):
    code = "validation_error"


class InvalidMoney(ValidationFailed):
    pass


class UnknownCurrency(InvalidMoney):
    pass


class CurrencyMismatch(DomainError):
    code = "unprocessable"


class IllegalTransition(DomainError):
    """A move the state machine's table forbids; the aggregate is left unchanged."""

    code = "conflict"

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__(f"{machine} cannot move from {current} to {target}")
        self.machine, self.current, self.target = machine, current, target


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class DuplicateRecord(Conflict):
    """A uniqueness guarantee was hit (a live payment, a gateway id, an invoice number...)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"duplicate {what}")
        self.what = what


class ConcurrentUpdate(Conflict):
    """An optimistic version check failed: someone else changed the row first."""


class Unprocessable(DomainError):
    code = "unprocessable"


class RefundExceedsRefundable(Unprocessable):
    pass


class AmountNotAllowed(Unprocessable):
    """The gateway would refuse this amount (minimum, maximum, currency precision)."""


# Gateway errors, translated by each gateway adapter from its own exceptions.
class GatewayError(DomainError):
    code = "gateway_error"


class CardDeclined(GatewayError):
    code = "card_declined"

    def __init__(self, message: str, decline_code: str | None = None, error_code: str = "card_declined") -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.error_code = error_code


class AuthenticationRequired(GatewayError):
    code = "authentication_required"


class InvalidGatewayRequest(GatewayError):
    code = "unprocessable"


class GatewayUnavailable(GatewayError):
    """Timeouts, 5xx, rate limits: safe to retry with the same idempotency key."""

    code = "gateway_unavailable"


class GatewayAuthError(GatewayError):
    """The gateway refused our credentials: an operator must fix the account's keys."""

    code = "gateway_unavailable"


class InvalidSignature(DomainError):
    code = "invalid_signature"
