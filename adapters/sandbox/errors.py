"""The sandbox's API errors, in Stripe's error shape, so its clients translate them as they would Stripe's."""

from __future__ import annotations

import copy
from typing import Any


class SandboxApiError(Exception):
    """What Stripe answers with a 4xx: {error: {type, code, decline_code, message, param, payment_intent}}.

    A card_error raised while confirming carries the intent in its declined state, as Stripe's does, so a client
    can report the decline instead of failing.
    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        code: str | None = None,
        decline_code: str | None = None,
        param: str | None = None,
        payment_intent: dict[str, Any] | None = None,
        payment_method: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.param = param
        self.payment_intent = payment_intent
        self.payment_method = payment_method

    def clone(self) -> SandboxApiError:
        """A fresh copy to raise again (a replayed answer must not share the first one's traceback)."""
        return SandboxApiError(
            self.status, self.type, self.message, code=self.code, decline_code=self.decline_code, param=self.param,
            payment_intent=copy.deepcopy(self.payment_intent), payment_method=copy.deepcopy(self.payment_method),
        )

    def as_stripe(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        for name in ("code", "decline_code", "param", "payment_intent", "payment_method"):
            value = getattr(self, name)
            if value is not None:
                error[name] = value
        return {"error": error}


def invalid_request(message: str, *, code: str | None = None, param: str | None = None) -> SandboxApiError:
    return SandboxApiError(400, "invalid_request_error", message, code=code, param=param)


def no_such(kind: str, object_id: str, param: str = "id") -> SandboxApiError:
    return SandboxApiError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def unexpected_state(message: str) -> SandboxApiError:
    return invalid_request(message, code="payment_intent_unexpected_state")


def idempotency_error(key: str) -> SandboxApiError:
    return SandboxApiError(
        400,
        "idempotency_error",
        f"Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request.",
    )
