"""The sandbox gateway's client side (API.md "Sandbox gateway"): what Stripe.js and the bank's 3-D Secure page
do for Stripe. No credential: like Stripe.js with a publishable key, these are called from the shopper's browser."""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect

from adapters.sandbox import SandboxApiError, SandboxNetwork
from entrypoints.http.auth import PUBLIC
from entrypoints.http.controllers._openapi import problems
from entrypoints.http.dependencies import Injected
from entrypoints.http.problems import PROBLEM_JSON, FieldError, problem
from entrypoints.http.schemas.common import Body, Out

CardNumber = Annotated[str, msgspec.Meta(min_length=12, max_length=23, pattern=r"^[0-9 -]+$")]
Cvc = Annotated[str, msgspec.Meta(min_length=3, max_length=4, pattern=r"^[0-9]+$")]


class CardIn(Body):
    number: CardNumber
    exp_month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    exp_year: Annotated[int, msgspec.Meta(ge=0, le=2200)]
    cvc: Cvc | None = None


class PaymentMethodTokenIn(Body):
    card: CardIn


class PaymentMethodToken(Out):
    id: str
    object: str = "payment_method"


class AuthenticateIn(Body):
    success: bool


class BrowserConfirmIn(Body):
    client_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    payment_method: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    return_url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class BrowserConfirmResult(Out):
    id: str
    status: str
    next_action: dict[str, Any] | None = None


class AuthenticationResult(Out):
    id: str
    status: str


def sandbox_error(_: Request[Any, Any, Any], error: SandboxApiError) -> Response[bytes]:
    """Stripe's error kinds in hexpay's problem+json: a refused card is 402 as at Stripe."""
    if error.type == "card_error":
        body = problem(
            402,
            "card_declined",
            error.message,
            decline_code=error.decline_code,
            errors=[FieldError(field=f"card.{error.param}" if error.param else None, message=error.message)],
        )
    elif error.status == 404:
        body = problem(404, "not_found", error.message)
    elif error.code == "payment_intent_unexpected_state":
        body = problem(409, "conflict", error.message)
    else:
        body = problem(
            400, "validation_error", error.message, errors=[FieldError(field=error.param, message=error.message)]
        )
    return Response(msgspec.json.encode(body), status_code=body.status, media_type=PROBLEM_JSON)


SANDBOX_ERRORS = problems(400, 402, 404, 409, 413)
BUTTON_ANSWERS = {
    **SANDBOX_ERRORS,
    200: ResponseSpec(str, media_type=MediaType.HTML, description="no return_url: a page saying how it went"),
}


class SandboxController(Controller):
    path = "/sandbox"
    opt = {"audience": PUBLIC}
    tags = ["sandbox"]
    exception_handlers = {SandboxApiError: sandbox_error}

    @post(
        "/v1/payment_methods",
        status_code=200,
        responses=SANDBOX_ERRORS,
        summary="Tokenise a test card (what Stripe.js does)",
    )
    async def tokenize(
        self, data: JSONBody[PaymentMethodTokenIn], sandbox_network: Injected[SandboxNetwork]
    ) -> PaymentMethodToken:
        card = data.card
        return PaymentMethodToken(id=sandbox_network.tokenize(card.number, card.exp_month, card.exp_year, card.cvc))

    @post(
        "/v1/payment_intents/{intent_id:str}/confirm",
        status_code=200,
        responses=SANDBOX_ERRORS,
        summary="Confirm an intent from the browser with its client_secret (what Stripe.js's confirmCardPayment does)",
    )
    async def confirm_from_browser(
        self, intent_id: FromPath[str], data: JSONBody[BrowserConfirmIn], sandbox_network: Injected[SandboxNetwork]
    ) -> BrowserConfirmResult:
        intent = sandbox_network.confirm_from_browser(intent_id, data.client_secret, data.payment_method,
                                                      data.return_url)
        next_action = intent.get("next_action")
        return BrowserConfirmResult(id=str(intent["id"]), status=str(intent["status"]),
                                    next_action=dict(next_action) if isinstance(next_action, dict) else None)

    @post(
        "/v1/payment_intents/{intent_id:str}/authenticate",
        status_code=200,
        responses=SANDBOX_ERRORS,
        summary="Complete (success=true) or fail 3-D Secure for an intent in requires_action",
    )
    async def authenticate(
        self, intent_id: FromPath[str], data: JSONBody[AuthenticateIn], sandbox_network: Injected[SandboxNetwork]
    ) -> AuthenticationResult:
        intent = sandbox_network.authenticate(intent_id, data.success)
        return AuthenticationResult(id=str(intent["id"]), status=str(intent["status"]))

    @get(
        "/3ds/{intent_id:str}",
        media_type=MediaType.HTML,
        responses=SANDBOX_ERRORS,
        summary="The bank's 3-D Secure page",
    )
    async def challenge_page(self, intent_id: FromPath[str], sandbox_network: Injected[SandboxNetwork]) -> str:
        return _challenge_page(sandbox_network.challenge(intent_id))

    @post(
        "/3ds/{intent_id:str}/complete",
        status_code=303,
        responses=BUTTON_ANSWERS,
        summary="The page's Complete button: 303 to the payment's return_url (or a result page)",
    )
    async def complete_button(
        self, intent_id: FromPath[str], sandbox_network: Injected[SandboxNetwork]
    ) -> Response[Any]:
        return _press(sandbox_network, intent_id, success=True)

    @post(
        "/3ds/{intent_id:str}/fail",
        status_code=303,
        responses=BUTTON_ANSWERS,
        summary="The page's Fail button: 303 to the payment's return_url (or a result page)",
    )
    async def fail_button(self, intent_id: FromPath[str], sandbox_network: Injected[SandboxNetwork]) -> Response[Any]:
        return _press(sandbox_network, intent_id, success=False)


def _press(network: SandboxNetwork, intent_id: str, *, success: bool) -> Response[Any]:
    """The buttons are plain form posts (the page runs no script); the shopper then goes back to the shop."""
    intent = network.authenticate(intent_id, success)
    return_url = network.challenge(intent_id).get("return_url")
    if return_url:
        status = "succeeded" if success else "failed"
        return Redirect(_with_query(str(return_url), payment_intent=intent_id, redirect_status=status), status_code=303)
    return Response(_result_page(str(intent["status"])), status_code=200, media_type=MediaType.HTML)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


_STYLE = """body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1.5rem}h1{font-size:1.2rem}
button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem;border-radius:6px;border:1px solid #888;cursor:pointer}
.ok{background:#1a7f37;color:#fff;border-color:#1a7f37}.small{color:#666;font-size:.85rem}"""


def _challenge_page(challenge: dict[str, Any]) -> str:
    intent_id = html.escape(str(challenge["id"]))
    amount = html.escape(f"{challenge['amount']} {str(challenge['currency']).upper()} (minor units)")
    card = challenge.get("card") or {}
    dots = "\u2022" * 4
    card_text = html.escape(f"{str(card.get('brand', 'card')).upper()} {dots} {card.get('last4', '')}")
    status = html.escape(str(challenge["status"]))
    buttons = ""
    if challenge["status"] == "requires_action":
        buttons = (
            f'<form method="post" action="/sandbox/3ds/{intent_id}/complete" style="display:inline">'
            '<button class="ok" type="submit">Complete</button></form>'
            f'<form method="post" action="/sandbox/3ds/{intent_id}/fail" style="display:inline">'
            '<button type="submit">Fail</button></form>'
        )
    else:
        buttons = f"<p>Nothing to authenticate: the payment is {status}.</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>3-D Secure (sandbox)</title>'
        f'<style>{_STYLE}</style></head><body><div class="box"><h1>Confirm your payment</h1>'
        f'<p>{amount}<br>{card_text}</p><p class="small">hexpay sandbox bank: choose what the shopper does.'
        f'</p>{buttons}<p class="small">{intent_id}</p></div></body></html>'
    )


def _result_page(status: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>3-D Secure (sandbox)</title>'
        f'<style>{_STYLE}</style></head><body><div class="box"><h1>Done</h1>'
        f"<p>The payment is now {html.escape(status)}. You can close this page.</p></div></body></html>"
    )
