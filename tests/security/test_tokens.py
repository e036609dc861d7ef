"""Bearer credentials on every protected route of the app's table: each forged, expired, incomplete or
misplaced credential is 401 unauthenticated with the same words, and nothing changes anywhere."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.client import ADMIN_TOKEN, JWT_SECRET, assert_problem, mint_token
from tests.fakes.measurements import Measure
from tests.security.probe import VICTIM, shop
from tests.security.routes import BODIES, routes_of


def _claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {"sub": VICTIM, "exp": int(time.time()) + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _rs256() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode(_claims(), pem, algorithm="RS256")


def _alg_none(signature: str = "") -> str:
    unsigned = jwt.encode(_claims(), key=None, algorithm="none")  # type: ignore[arg-type]
    return unsigned + signature


def _hs256_header_says_none() -> str:
    """A genuine HS256 signature under a header that claims alg none: still refused (the algorithm is pinned)."""
    genuine = jwt.encode(_claims(), JWT_SECRET, algorithm="HS256")
    forged_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    return ".".join([forged_header, *genuine.split(".")[1:]])


# Each is a credential for Alice herself: only its form is wrong.
FORGED_SHOPPER_TOKENS = {
    "alg none": _alg_none(),
    "alg none with a signature": _alg_none("c2lnbmF0dXJl"),
    "header none, HS256 signature": _hs256_header_says_none(),
    "HS512 with the right secret": jwt.encode(_claims(), JWT_SECRET, algorithm="HS512"),
    "HS384 with the right secret": jwt.encode(_claims(), JWT_SECRET, algorithm="HS384"),
    "RS256": _rs256(),
    "wrong key": mint_token(VICTIM, secret="not-the-secret-" + "k" * 32),
    "expired": mint_token(VICTIM, ttl=-1),
    "expired long ago": mint_token(VICTIM, ttl=-365 * 86400),
    "not yet valid": jwt.encode(_claims(nbf=int(time.time()) + 3600), JWT_SECRET, algorithm="HS256"),
    "without exp": jwt.encode(_claims(exp=None), JWT_SECRET, algorithm="HS256"),
    "without sub": jwt.encode(_claims(sub=None), JWT_SECRET, algorithm="HS256"),
    "empty sub": jwt.encode(_claims(sub=""), JWT_SECRET, algorithm="HS256"),
    "the admin token": ADMIN_TOKEN,
    "truncated": mint_token(VICTIM)[:-3],
}
FORGED_ADMIN_TOKENS = {
    "a shopper JWT": mint_token(VICTIM),
    "a shopper JWT with sub admin": mint_token("admin"),
    "the admin token, one character off": ADMIN_TOKEN[:-1] + ("b" if ADMIN_TOKEN[-1] != "b" else "c"),
    "the admin token with a suffix": ADMIN_TOKEN + "x",
    "the JWT secret": JWT_SECRET,
}


async def test_forged_and_misplaced_credentials_on_every_protected_route(sqlite_url: str, measure: Measure) -> None:
    async with shop(sqlite_url) as found:
        api = found.api
        before = await found.state()
        tried = 0
        for audience, tokens in (("shopper", FORGED_SHOPPER_TOKENS), ("admin", FORGED_ADMIN_TOKENS)):
            routes = routes_of(found, audience)
            assert routes, audience
            for name, token in tokens.items():
                for method, path in routes:
                    response = await api.http.request(method, path, json=BODIES[method],
                                                      headers={"Authorization": f"Bearer {token}"})
                    problem = assert_problem(response, 401, "unauthenticated")
                    assert problem["detail"] == "A valid bearer credential is required.", (name, path)
                    tried += 1
        await api.delivered()
        assert await found.state() == before
        # The genuine credentials still work, so the 401s above were about the credential alone.
        assert (await api.shopper(VICTIM).get(f"/api/store/payments/{found.ids['live_payment']}/")).status_code == 200
        assert (await api.admin.get("/api/v1/admin/events/")).status_code == 200
        measure("forged credentials", shopper_forms=len(FORGED_SHOPPER_TOKENS), admin_forms=len(FORGED_ADMIN_TOKENS),
                requests=tried, all_401=True, state="unchanged")


async def test_every_route_of_the_app_declares_who_may_call_it(sqlite_url: str) -> None:
    """Authentication (entrypoints/http/auth.py) enforces the credential a route's `opt["audience"]` names; a route
    without one would be open to anyone. Only Litestar's own OpenAPI pages and the automatic OPTIONS answers
    (CORS preflight) go without."""
    async with shop(sqlite_url) as found:
        undeclared = []
        audiences: set[str] = set()
        for route in found.api.app.routes:
            for handler in getattr(route, "route_handlers", []):
                audience = handler.opt.get("audience")
                if audience in ("admin", "shopper", "public"):
                    audiences.add(audience)
                elif set(handler.http_methods) != {"OPTIONS"} and not route.path.startswith("/schema"):
                    undeclared.append((route.path, sorted(handler.http_methods)))
    assert undeclared == []
    assert audiences == {"admin", "shopper", "public"}


async def test_a_bad_credential_is_401_before_the_body_is_read(sqlite_url: str) -> None:
    """A body that could never validate, sent with a forged credential: the answer is 401, not 400 or 422, so an
    unauthenticated caller learns nothing about the route's schema."""
    async with shop(sqlite_url) as found:
        api = found.api
        forged_shopper = api.bearer(FORGED_SHOPPER_TOKENS["wrong key"])
        forged_admin = api.bearer(FORGED_ADMIN_TOKENS["a shopper JWT"])
        for caller, path in ((forged_shopper, "/api/store/payments/intent/"), (forged_admin, "/api/v1/admin/orders/")):
            answer = await caller.http.post(path, content=b"{not json", headers={
                "Authorization": f"Bearer {caller.token}", "Content-Type": "application/json",
                "Idempotency-Key": "bad-credential"})
            assert_problem(answer, 401, "unauthenticated")
        # With a valid credential the same body is refused for what it is: the 401 above hid that.
        answer = await api.http.post("/api/store/payments/intent/", content=b"{not json", headers={
            "Authorization": f"Bearer {mint_token(VICTIM)}", "Content-Type": "application/json",
            "Idempotency-Key": "good-credential"})
        assert answer.status_code == 400, answer.text


async def test_the_openapi_document_names_the_credential_each_operation_needs(sqlite_url: str) -> None:
    async with shop(sqlite_url) as found:
        schema = (await found.api.http.get("/schema/openapi.json")).json()
    needs = {(method, path): operation.get("security") for path, item in schema["paths"].items()
             for method, operation in item.items() if isinstance(operation, dict)}
    assert needs[("post", "/api/v1/admin/orders")] == [{"admin": []}]
    assert needs[("post", "/api/store/payments/intent")] == [{"shopper": []}]
    assert needs[("post", "/api/store/payments/callback/{gateway}")] is None  # signed, not a bearer credential
    schemes = {name for security in needs.values() for entry in security or [] for name in entry}
    assert schemes == set(schema["components"]["securitySchemes"]) == {"admin", "shopper"}
