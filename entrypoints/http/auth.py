"""Who is calling: the shop backend (admin bearer token) or a shopper (HS256 JWT).

Both checks say only yes or no: a missing, wrong, expired or forged credential is the same 401, whatever the
reason. The Authentication middleware checks them once per request and leaves the caller in the request's state
for the idempotency layer (which keys its records by caller) and the verified shopper for the handler.
A shopper JWT on an admin route, or the admin token on a shopper route, is simply a wrong credential: 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import jwt
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from application.use_cases.payment_methods import Shopper
from entrypoints.http.headers import header_of
from entrypoints.http.problems import Unauthenticated
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.container import Container

ADMIN = "admin"
SHOPPER = "shopper"
PUBLIC = "public"
ALGORITHMS = ["HS256"]  # pinned: "none", RS256 and every other algorithm are refused
MAX_REFERENCE = 255


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value; None for any other form."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_admin(token: str | None, settings: Settings) -> bool:
    if token is None:
        return False
    return hmac.compare_digest(token.encode(), settings.admin_token.encode())


# Tokens whose signature checked out, with the time window they are valid in: a storefront sends the same token
# with every request until it expires, and checking an HS256 signature again costs about 60 us of CPU. Only
# successes are kept (a forged token is checked every time), the window is checked on every use, and the key
# includes the secret and the claim, so a changed setting is never answered from here.
_VERIFIED: dict[tuple[str, str, str], tuple[Shopper, float, float]] = {}
_VERIFIED_MAX = 16_384  # about 6 MiB at most; the oldest goes first
_now = time.time


def shopper_of(token: str | None, settings: Settings) -> Shopper | None:
    """The shopper a valid token names; None for anything else. `exp` and the subject claim are required."""
    if token is None:
        return None
    claim = settings.jwt_subject_claim
    key = (token, settings.jwt_secret, claim)
    known = _VERIFIED.get(key)
    if known is not None:
        shopper, not_before, expires = known
        if not_before <= _now() < expires:
            return shopper
        del _VERIFIED[key]
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=ALGORITHMS, options={"require": ["exp", claim]}
        )
    except jwt.PyJWTError:
        return None
    found = _shopper_in(claims, claim)
    if found is not None:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]
        _VERIFIED[key] = (found, float(claims.get("nbf", float("-inf"))), float(claims["exp"]))
    return found


def _shopper_in(claims: dict[str, Any], claim: str) -> Shopper | None:
    reference = claims.get(claim)
    # A shop's own tokens may name the user with a number (user_id: 42).
    if isinstance(reference, bool) or not isinstance(reference, str | int):
        return None
    reference = str(reference)
    if not reference or len(reference) > MAX_REFERENCE:
        return None
    email = claims.get("email")
    return Shopper(reference=reference, email=email if isinstance(email, str) and email else None)


# What Authentication leaves in the request's state (the ASGI scope's, which only the server writes) for the layers
# after it: who is calling, as the idempotency layer keys its records, and the verified shopper for the handler.
_CALLER = "hexpay.caller"
_SHOPPER = "hexpay.shopper"


class Authentication:
    """The credential a route's audience (its `opt["audience"]`) needs, checked before anything else of the route
    runs: the idempotency layer, the body, the handler. So an unauthenticated caller learns nothing from a
    validation error and leaves no idempotency record. A missing or wrong credential is 401 (problem+json, through
    the app's exception handlers).

    An ASGI middleware rather than Litestar guards: Litestar copies the route handler for every guard it calls
    (about 10 us of CPU per request) and a guard runs later, after the idempotency layer."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: it checks, then hands back the inner app's awaitable, so this layer is not a frame that
        # every await of the request (each statement's answer) has to pass through on the way back in.
        if scope["type"] == ScopeType.HTTP:
            state = scope.setdefault("state", {})
            audience = scope["route_handler"].opt.get("audience")
            if audience == SHOPPER:
                shopper = shopper_of(bearer_token(header_of(scope, b"authorization") or ""), self.container.settings())
                if shopper is None:
                    raise Unauthenticated()
                state[_SHOPPER] = shopper
                state[_CALLER] = f"{SHOPPER}:{shopper.reference}"
            elif audience == ADMIN:
                if not is_admin(bearer_token(header_of(scope, b"authorization") or ""), self.container.settings()):
                    raise Unauthenticated()
                state[_CALLER] = ADMIN
            else:
                state[_CALLER] = PUBLIC
        return self.app(scope, receive, send)


def caller_of(scope: Scope) -> str:
    """Who is calling (the key idempotency records are kept under), as Authentication, which runs first, found."""
    caller: str = scope["state"][_CALLER]
    return caller


async def provide_shopper(request: ASGIConnection[Any, Any, Any, Any]) -> Shopper:
    """The shopper Authentication verified for this request (only shopper routes ask for it)."""
    shopper: Shopper = request.scope["state"][_SHOPPER]
    return shopper
