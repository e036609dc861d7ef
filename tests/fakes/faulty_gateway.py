"""FaultyGateway: any PaymentGateway, made to fail at a chosen mutating step, the way networks really fail.

Four failures, told apart by whether the gateway did the work:
- TIMEOUT, SERVER_ERROR (5xx), RATE_LIMITED (429): refused before anything happened at the gateway;
- ANSWER_LOST: the gateway did it, then the answer never arrived (a read timeout);
- DIED_BEFORE_COMMIT: the gateway did it and answered, then hexpay's process died before its transaction
  committed (the unit of work factory given as `on_performed` fails its next commit).
Every one reaches hexpay as GatewayUnavailable (or the database's failure), exactly as the real adapters
translate a timeout, a 5xx or a 429. Reads (retrieve, find) and webhook parsing never fail: they are how hexpay
finds out what happened.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from application.ports.gateway import (
    CreatedPayment,
    CreatePaymentRequest,
    GatewayCustomerRequest,
    GatewayEvent,
    GatewayPaymentMethod,
    PaymentGateway,
)
from domain.errors import GatewayUnavailable
from domain.money import Money
from domain.payment import PaymentSnapshot
from domain.refund import RefundSnapshot

T = TypeVar("T")


class Fault(StrEnum):
    TIMEOUT = "timeout"
    SERVER_ERROR = "5xx"
    RATE_LIMITED = "429"
    ANSWER_LOST = "answer_lost"
    DIED_BEFORE_COMMIT = "died_before_commit"

    @property
    def performed(self) -> bool:
        """Whether the gateway did the work before the failure."""
        return self in (Fault.ANSWER_LOST, Fault.DIED_BEFORE_COMMIT)


class Step(StrEnum):
    CUSTOMER = "customer"
    ATTACH = "attach"
    DETACH = "detach"
    DEFAULT = "default"
    CREATE = "create"
    CONFIRM = "confirm"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"


_MESSAGES = {
    Fault.TIMEOUT: "Request to the gateway timed out (connect).",
    Fault.SERVER_ERROR: "The gateway answered 500: an error occurred with our connection to Stripe.",
    Fault.RATE_LIMITED: "The gateway answered 429: too many requests hit the API too quickly.",
    Fault.ANSWER_LOST: "Request to the gateway timed out (read): the answer never arrived.",
}


@dataclass
class FaultPlan:
    """Which step fails how, and how often; shared by every FaultyGateway of a test."""

    armed: dict[Step, list[Fault]] = field(default_factory=dict)
    attempts: Counter[Step] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)  # retrieve / find calls, which never fail
    injected: list[tuple[Step, Fault]] = field(default_factory=list)
    on_performed: Callable[[], None] | None = None  # DIED_BEFORE_COMMIT: make the next commit fail
    # Seconds every call takes. The sandbox answers without ever yielding to the event loop; a little latency lets
    # concurrent requests interleave at the gateway call, as they do over a real network.
    latency: float = 0.0

    def arm(self, step: Step, fault: Fault, times: int = 1) -> None:
        self.armed.setdefault(step, []).extend([fault] * times)

    def next_fault(self, step: Step) -> Fault | None:
        self.attempts[step] += 1
        queue = self.armed.get(step)
        if not queue:
            return None
        fault = queue.pop(0)
        self.injected.append((step, fault))
        return fault


class FaultyGateway:
    """PaymentGateway: delegates to `inner`, failing the mutating calls the plan says."""

    def __init__(self, inner: PaymentGateway, plan: FaultPlan) -> None:
        self._inner, self._plan = inner, plan
        self.kind = inner.kind
        self.supports_saved_cards = inner.supports_saved_cards

    def __repr__(self) -> str:
        return f"FaultyGateway({self._inner!r})"

    async def _call(self, step: Step, call: Callable[[], Awaitable[T]]) -> T:
        await self._travel()
        fault = self._plan.next_fault(step)
        if fault is None:
            return await call()
        if not fault.performed:
            raise GatewayUnavailable(_MESSAGES[fault])
        answer = await call()
        if fault is Fault.ANSWER_LOST:
            raise GatewayUnavailable(_MESSAGES[fault])
        if self._plan.on_performed is None:
            raise AssertionError("DIED_BEFORE_COMMIT needs plan.on_performed (a FaultyUnitOfWorkFactory)")
        self._plan.on_performed()
        return answer

    async def _travel(self) -> None:
        if self._plan.latency:
            await asyncio.sleep(self._plan.latency)

    def validate_amount(self, amount: Money) -> None:
        self._inner.validate_amount(amount)

    async def ensure_customer(self, request: GatewayCustomerRequest, idempotency_key: str) -> str:
        return await self._call(Step.CUSTOMER, lambda: self._inner.ensure_customer(request, idempotency_key))

    async def attach_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> GatewayPaymentMethod:
        return await self._call(Step.ATTACH, lambda: self._inner.attach_payment_method(
            gateway_customer_id=gateway_customer_id, gateway_payment_method_id=gateway_payment_method_id,
            idempotency_key=idempotency_key))

    async def detach_payment_method(self, *, gateway_payment_method_id: str, idempotency_key: str) -> None:
        await self._call(Step.DETACH, lambda: self._inner.detach_payment_method(
            gateway_payment_method_id=gateway_payment_method_id, idempotency_key=idempotency_key))

    async def set_default_payment_method(
        self, *, gateway_customer_id: str, gateway_payment_method_id: str, idempotency_key: str
    ) -> None:
        await self._call(Step.DEFAULT, lambda: self._inner.set_default_payment_method(
            gateway_customer_id=gateway_customer_id, gateway_payment_method_id=gateway_payment_method_id,
            idempotency_key=idempotency_key))

    async def create_payment(self, request: CreatePaymentRequest, idempotency_key: str) -> CreatedPayment:
        return await self._call(Step.CREATE, lambda: self._inner.create_payment(request, idempotency_key))

    async def confirm_payment(
        self, *, gateway_payment_id: str, gateway_payment_method_id: str | None, return_url: str | None,
        idempotency_key: str,
    ) -> PaymentSnapshot:
        return await self._call(Step.CONFIRM, lambda: self._inner.confirm_payment(
            gateway_payment_id=gateway_payment_id, gateway_payment_method_id=gateway_payment_method_id,
            return_url=return_url, idempotency_key=idempotency_key))

    async def capture_payment(
        self, *, gateway_payment_id: str, amount: int | None, idempotency_key: str
    ) -> PaymentSnapshot:
        return await self._call(Step.CAPTURE, lambda: self._inner.capture_payment(
            gateway_payment_id=gateway_payment_id, amount=amount, idempotency_key=idempotency_key))

    async def cancel_payment(self, *, gateway_payment_id: str, idempotency_key: str) -> PaymentSnapshot:
        return await self._call(Step.CANCEL, lambda: self._inner.cancel_payment(
            gateway_payment_id=gateway_payment_id, idempotency_key=idempotency_key))

    async def retrieve_payment(self, gateway_payment_id: str) -> PaymentSnapshot:
        self._plan.reads["retrieve_payment"] += 1
        await self._travel()
        return await self._inner.retrieve_payment(gateway_payment_id)

    async def find_payment(self, payment_id: str) -> PaymentSnapshot | None:
        self._plan.reads["find_payment"] += 1
        await self._travel()
        return await self._inner.find_payment(payment_id)

    async def create_refund(
        self, *, refund_id: str, gateway_payment_id: str, amount: int, reason: str | None, idempotency_key: str,
    ) -> RefundSnapshot:
        return await self._call(Step.REFUND, lambda: self._inner.create_refund(
            refund_id=refund_id, gateway_payment_id=gateway_payment_id, amount=amount, reason=reason,
            idempotency_key=idempotency_key))

    async def retrieve_refund(self, gateway_refund_id: str) -> RefundSnapshot:
        self._plan.reads["retrieve_refund"] += 1
        await self._travel()
        return await self._inner.retrieve_refund(gateway_refund_id)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._inner.parse_webhook(raw_body, headers)

    async def aclose(self) -> None:
        """Close the wrapped adapter's connections, as the registry does at shutdown."""
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()
