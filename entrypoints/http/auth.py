"""Who is calling: the shop backend (admin bearer token) or a shopper (HS256 JWT).

Both checks say only yes or no: a missing, wrong, expired or forged credential is the same 401, whatever the
reason. The same functions serve the guards and the idempotency layer (which keys its records by caller).
A shopper JWT on an admin route, or the admin token on a shopper route, is simply a wrong credential: 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from application.use_cases.payment_methods import Shopper
from entrypoints.http.problems import Unauthenticated
from entrypoints.settings import Settings

ADMIN = "admin"
SHOPPER = "shopper"
PUBLIC = "public"
ALGORITHMS = ["HS256"]  # pinned: "none", RS256 and every other algorithm are refused
MAX_REFERENCE = 255


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
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


# Where a request's verified shopper is kept (the ASGI scope's state, which only the server writes): the
# idempotency layer and the guard both need it, and the token's signature is checked once per request.
_VERIFIED_SHOPPER = "hexpay.verified_shopper"


def verified_shopper(state: dict[str, Any], headers: Mapping[str, str], settings: Settings) -> Shopper | None:
    if _VERIFIED_SHOPPER not in state:
        state[_VERIFIED_SHOPPER] = shopper_of(bearer_token(headers), settings)
    shopper: Shopper | None = state[_VERIFIED_SHOPPER]
    return shopper


def caller_of(audience: str | None, headers: Mapping[str, str], settings: Settings,
              state: dict[str, Any] | None = None) -> str | None:
    """The key an idempotency record is kept under; None when the credential the route needs is not valid."""
    if audience == ADMIN:
        return ADMIN if is_admin(bearer_token(headers), settings) else None
    if audience == SHOPPER:
        shopper = verified_shopper({} if state is None else state, headers, settings)
        return f"{SHOPPER}:{shopper.reference}" if shopper else None
    return PUBLIC


def _settings(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    settings: Settings = connection.app.state.container.settings()
    return settings


# Guards are coroutines: Litestar runs a plain function guard in a worker thread (a thread hand-off and the GIL
# passed back and forth on every request) although these only compare and verify in memory.
async def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not is_admin(bearer_token(connection.headers), _settings(connection)):
        raise Unauthenticated()


async def require_shopper(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Runs before the body is read, so an unauthenticated caller learns nothing from a validation error."""
    shopper = verified_shopper(connection.scope.setdefault("state", {}), connection.headers, _settings(connection))
    if shopper is None:
        raise Unauthenticated()
    connection.state.shopper = shopper


async def provide_shopper(request: ASGIConnection[Any, Any, Any, Any]) -> Shopper:
    shopper: Shopper = request.state.shopper
    return shopper
