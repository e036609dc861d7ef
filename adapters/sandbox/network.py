"""SandboxNetwork: Stripe's test mode in process, for every sandbox gateway account of the process.

It speaks Stripe's API in Stripe's JSON shape (dicts) and raises Stripe-shaped errors (SandboxApiError), so that
SandboxPaymentGateway is a client of it exactly as StripePaymentGateway is a client of Stripe, and both share
adapters.stripe_wire for everything on the wire. One instance holds all state: several gateway objects for one
account see the same customers, intents and idempotency keys. Each account (SandboxAccount) has its own objects,
keys and webhook outbox; the card vault is shared, as Stripe.js tokenises before any account is known.

Every method is synchronous and never awaits, so each call is atomic on the event loop. What Stripe does "a
moment later" (a refund that fails after succeeding, a dispute opened after a charge) is queued: run_deferred()
performs it at once (tests), and with an event loop running it also happens by itself after `later_after` seconds.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from adapters.sandbox.account import SandboxAccount, Surroundings
from adapters.sandbox.errors import SandboxApiError, no_such
from adapters.sandbox.randomness import random_letters
from adapters.sandbox.vault import PaymentMethodVault
from adapters.sandbox.webhooks import SignedWebhook, WebhookOutbox, WebhookSender

ApiObject = dict[str, Any]
P = ParamSpec("P")
R = TypeVar("R")

# The API version the events claim: the one stripe-python 16.1 pins, which the Stripe adapter speaks.
API_VERSION = "2026-10-28.endive"


def random_stripe_id(prefix: str) -> str:
    """An id shaped like Stripe's (pi_3Q...), random so ids never repeat across restarts of the process."""
    return f"{prefix}_{random_letters(24)}"  # about 140 random bits


def _per_account(
    operation: Callable[Concatenate[SandboxAccount, P], R],
) -> Callable[Concatenate[SandboxNetwork, str, P], R]:
    """One account's API operation, addressed on the network by account id (as a secret key picks the account)."""

    @functools.wraps(operation)
    def call(network: SandboxNetwork, account_id: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return operation(network.account(account_id), *args, **kwargs)

    return call


@dataclass(slots=True)
class _Deferred:
    happen: Callable[[], None]
    done: bool = False


class SandboxNetwork:
    def __init__(
        self,
        *,
        public_base_url: str = "http://127.0.0.1:8000",
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[str], str] | None = None,
        deliver: WebhookSender | None = None,
        later_after: float | None = 2.0,
        delivery_retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self._now = now or (lambda: datetime.now(UTC))
        self._new_id = new_id or random_stripe_id
        self._later_after = later_after
        self._accounts: dict[str, SandboxAccount] = {}
        self._deferred: list[_Deferred] = []
        self.vault = PaymentMethodVault(new_id=self._new_id, now=self._now)
        self.webhooks = WebhookOutbox(
            secret_of=lambda account_id: self._accounts[account_id].webhook_secret,
            now=self.unix_now,
            deliver=deliver,
            retry_delays=delivery_retry_delays,
        )
        self._surroundings = Surroundings(
            vault=self.vault, new_id=self._new_id, unix_now=self.unix_now, emit=self._emit, defer=self._defer,
            three_ds_url=lambda intent_id: f"{self.public_base_url}/sandbox/3ds/{intent_id}",
        )

    def __repr__(self) -> str:
        return f"SandboxNetwork(public_base_url={self.public_base_url!r}, accounts={len(self._accounts)})"

    # ---- the process around the API ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now()

    def unix_now(self) -> int:
        return int(self._now().timestamp())

    def register_account(self, account_id: str, webhook_secret: str) -> SandboxAccount:
        """Open the account, or take its current webhook secret (later events are signed with it)."""
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = SandboxAccount(account_id, webhook_secret, self._surroundings)
        else:
            account.webhook_secret = webhook_secret
        return account

    def account(self, account_id: str) -> SandboxAccount:
        account = self._accounts.get(account_id)
        if account is None:
            raise SandboxApiError(401, "authentication_error", "Invalid API Key provided: no such sandbox account.")
        return account

    def set_webhook_sender(self, deliver: WebhookSender | None) -> None:
        """deliver(account_id, body, headers) POSTs a signed event to the account's callback path."""
        self.webhooks.set_sender(deliver)

    def drain_webhooks(self, account_id: str) -> list[SignedWebhook]:
        """The account's events since the last drain, oldest first, each (body, headers) signed now."""
        return self.webhooks.drain(account_id)

    async def wait_for_deliveries(self) -> None:
        await self.webhooks.wait_for_deliveries()

    def run_deferred(self) -> int:
        """Perform now what Stripe would do a moment later (refund.failed, charge.dispute.created); how many."""
        performed = 0
        while self._deferred:
            item = self._deferred.pop(0)
            if not item.done:
                item.done = True
                item.happen()
                performed += 1
        return performed

    # ---- the shopper's side: Stripe.js and the bank's 3-D Secure page, and the bank ---------------------------
    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str | None = None) -> str:
        """A card form becomes a payment method id (POST /sandbox/v1/payment_methods). Only Stripe's test cards."""
        return self.vault.tokenize(number, exp_month, exp_year, cvc)

    def challenge(self, intent_id: str) -> ApiObject:
        """What the 3-D Secure page shows: the intent's amount and card, without its client_secret."""
        return self._holder_of_intent(intent_id).challenge(intent_id)

    def confirm_from_browser(
        self, intent_id: str, client_secret: str, payment_method: str, return_url: str | None = None
    ) -> ApiObject:
        """The frontend confirms with the client_secret alone (Stripe.js's confirmCardPayment)."""
        return self._holder_of_intent(intent_id).confirm_from_browser(intent_id, client_secret, payment_method,
                                                                      return_url)

    def authenticate(self, intent_id: str, success: bool) -> ApiObject:
        """The shopper completes (or fails) 3-D Secure for an intent in requires_action."""
        return self._holder_of_intent(intent_id).authenticate(intent_id, success)

    def close_dispute(self, dispute_id: str, won: bool) -> ApiObject:
        """The bank's decision on a dispute (charge.dispute.closed)."""
        for account in self._accounts.values():
            if dispute_id in account.disputes:
                return account.close_dispute(dispute_id, won)
        raise no_such("dispute", dispute_id)

    # ---- one account's API, by account id --------------------------------------------------------------------
    create_customer = _per_account(SandboxAccount.create_customer)
    retrieve_customer = _per_account(SandboxAccount.retrieve_customer)
    set_default_payment_method = _per_account(SandboxAccount.set_default_payment_method)
    attach_payment_method = _per_account(SandboxAccount.attach_payment_method)
    detach_payment_method = _per_account(SandboxAccount.detach_payment_method)
    create_payment_intent = _per_account(SandboxAccount.create_payment_intent)
    confirm_payment_intent = _per_account(SandboxAccount.confirm_payment_intent)
    capture_payment_intent = _per_account(SandboxAccount.capture_payment_intent)
    cancel_payment_intent = _per_account(SandboxAccount.cancel_payment_intent)
    retrieve_payment_intent = _per_account(SandboxAccount.retrieve_payment_intent)
    search_payment_intents = _per_account(SandboxAccount.search_payment_intents)
    create_refund = _per_account(SandboxAccount.create_refund)
    retrieve_refund = _per_account(SandboxAccount.retrieve_refund)
    retrieve_dispute = _per_account(SandboxAccount.retrieve_dispute)

    # ---- internals ---------------------------------------------------------------------------------------------
    def _holder_of_intent(self, intent_id: str) -> SandboxAccount:
        """The 3-D Secure page knows the intent, not the account."""
        for account in self._accounts.values():
            if intent_id in account.intents:
                return account
        raise no_such("payment_intent", intent_id)

    def _emit(self, account_id: str, event_type: str, obj: ApiObject) -> None:
        self.webhooks.publish(account_id, {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.unix_now(),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        })

    def _defer(self, happen: Callable[[], None]) -> None:
        item = _Deferred(happen)
        self._deferred.append(item)
        if self._later_after is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(self._later_after, self._run_one, item)

    def _run_one(self, item: _Deferred) -> None:
        if item.done:
            return
        item.done = True
        self._deferred.remove(item)
        item.happen()
