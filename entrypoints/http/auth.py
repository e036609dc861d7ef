"""Who is calling: the shop backend (admin bearer token) or a shopper (HS256 JWT).

Both checks say only yes or no: a missing, wrong, expired or forged credential is the same 401, whatever the
reason. The same functions serve the Authentication middleware and the idempotency layer (which keys its records by
caller).
A shopper JWT on an admin route, or the admin token on a shopper route, is simply a wrong credential: 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import jwt
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from application.use_cases.payment_methods import Shopper
from entrypoints.http.problems import Unauthenticated
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.container import Container

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


class Authentication:
    """The credential a route's audience (its `opt["audience"]`) needs, checked before anything else of the route
    runs: the idempotency layer, the body, the handler. So an unauthenticated caller learns nothing from a
    validation error and leaves no idempotency record. A missing or wrong credential is 401 (problem+json, through
    the app's exception handlers); a shopper's verified identity is kept in the request's state for the handler.

    An ASGI middleware rather than Litestar guards: Litestar copies the route handler for every guard it calls
    (about 10 us of CPU per request) and a guard runs later, after the idempotency layer."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            audience = scope["route_handler"].opt.get("audience")
            if audience == SHOPPER:
                shopper = verified_shopper(scope.setdefault("state", {}), _Authorization(scope),
                                           self.container.settings())
                if shopper is None:
                    raise Unauthenticated()
            elif audience == ADMIN and not is_admin(bearer_token(_Authorization(scope)), self.container.settings()):
                raise Unauthenticated()
        await self.app(scope, receive, send)


class _Authorization(Mapping[str, str]):
    """The request's Authorization header, read from the raw ASGI headers without decoding the others."""

    def __init__(self, scope: Scope) -> None:
        self._value = ""
        for name, value in scope["headers"]:
            if len(name) == 13 and name.lower() == b"authorization":
                self._value = value.decode("latin-1")
                break

    def __getitem__(self, key: str) -> str:
        if key != "authorization" or not self._value:
            raise KeyError(key)
        return self._value

    def __iter__(self) -> Iterator[str]:
        return iter(("authorization",) if self._value else ())

    def __len__(self) -> int:
        return 1 if self._value else 0


async def provide_shopper(request: ASGIConnection[Any, Any, Any, Any]) -> Shopper:
    """The shopper Authentication verified for this request (only shopper routes ask for it)."""
    shopper: Shopper = request.scope["state"][_VERIFIED_SHOPPER]
    return shopper
