"""Paying an order: one PaymentIntent per payment, created once, confirmed, captured or canceled.

Gateway calls never run inside a database transaction: each use case reads, calls the gateway with a key
derived from hexpay's ids, then settles the answer through the settlement rule: first on the payment as it read it,
its version standing in for a row lock (nobody else touched it during the call, usually), and when someone did (a
webhook beat the answer home), again on a fresh read under the row lock, so that the two serialise as DESIGN.md
asks. A crash between the two is repaired by a retry (same key, same gateway object) or by reconciliation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import CreatePaymentRequest, GatewayRegistry, PaymentGateway
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.use_cases._shared import (
    active_account,
    card_to_pay_with,
    ensure_gateway_customer,
    get_or_create_customer,
    retry_on_conflict,
    settle_report,
)
from application.use_cases.payment_methods import Shopper
from application.use_cases.saved_cards import RememberCardOfPayment
from domain.customer import Customer
from domain.errors import (
    CardDeclined,
    Conflict,
    DuplicateRecord,
    GatewayError,
    InvalidGatewayRequest,
    NotFound,
    ValidationFailed,
)
from domain.gateway_account import GatewayAccount
from domain.money import Money
from domain.order import Order, OrderStatus
from domain.payment import CaptureMethod, Payment, PaymentSnapshot, PaymentStatus
from domain.payment_method import PaymentMethod

_PAST_CONFIRMATION = frozenset({PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_CAPTURE, PaymentStatus.SUCCEEDED})


@dataclass(frozen=True, slots=True)
class CreatePaymentCommand:
    shopper: Shopper
    order_id: str
    gateway_account_id: str
    payment_method_id: str | None = None  # hexpay's cpm_ id, one of the caller's
    save_card: bool = False
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    confirm: bool = False
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentIntentView:
    payment: Payment
    account: GatewayAccount
    created: bool  # False when the order's live payment on that gateway was returned instead


@dataclass(frozen=True, slots=True)
class ConfirmPaymentCommand:
    shopper: Shopper
    payment_id: str
    payment_method_id: str | None = None
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class _Attempt:
    payment: Payment
    gateway: PaymentGateway
    gateway_payment_method_id: str
    idempotency_key: str


class PaymentSettler:
    """Settles one gateway answer on a payment, in a transaction of its own, under its row lock or its version.

    as_read: the payment as the caller last read or wrote it, unchanged since (the caller's own commit just
    before the gateway call, usually). The first try settles on it without reading it again, its version check
    standing in for the row lock: in the usual case nobody touched the payment during the call, and a settlement
    saves two round trips (and, when the update is its first write, a savepoint's two), and an answer that changes
    the payment alone saves BEGIN and COMMIT too. When someone did (a webhook beat the answer home), the write
    is refused (ConcurrentUpdate, from the update or the commit) and the next try reads it under lock."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, payment_id: str, snapshot: PaymentSnapshot, *, client_secret: str | None = None,
        as_read: Payment | None = None,
    ) -> Payment:
        async def settle() -> Payment:
            nonlocal as_read
            payment, as_read = as_read, None  # tried once: a conflict means it is out of date
            # On the payment as read, every write is matched on a version, so no transaction spans the reads
            # (autocommit): the writes, the payment's alone (a create's answer, a decline) or cascading to its order
            # and invoice, commit together at commit(). A fresh read locks the row.
            async with self._uow.autocommit() if payment is not None else self._uow() as uow:
                if payment is not None:
                    uow.payments.adopt(payment)
                else:
                    payment = await uow.payments.get_for_update(payment_id)
                if payment is None:
                    raise NotFound(f"no payment {payment_id}")
                if snapshot.gateway_payment_id:
                    payment.link_gateway_intent(snapshot.gateway_payment_id, client_secret, self._clock.now())
                await settle_report(uow, payment, snapshot, self._clock)
                await uow.commit()
                return payment

        return await retry_on_conflict(settle)


async def remember_card_quietly(remember: RememberCardOfPayment, payment: Payment) -> None:
    """Saving the card is a convenience on top of a payment that already succeeded: a gateway hiccup here
    must not turn the payment's answer into an error (the webhook of the success tries again)."""
    with contextlib.suppress(GatewayError):
        await remember(payment)


async def cancel_at_gateway(gateway: PaymentGateway, payment: Payment, clock: Clock) -> PaymentSnapshot:
    """Cancel the payment's intent; if it cannot be canceled (it succeeded meanwhile), report its truth."""
    gateway_payment_id = payment.gateway_payment_id
    if gateway_payment_id is None:
        found = await gateway.find_payment(payment.id)  # the creation's answer may have been lost
        if found is None or found.gateway_payment_id is None:
            return PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount, currency=payment.currency,
                                   amount_received=0, amount_capturable=0, observed_at=clock.now())
        gateway_payment_id = found.gateway_payment_id
    try:
        return await gateway.cancel_payment(gateway_payment_id=gateway_payment_id,
                                            idempotency_key=f"{payment.id}:cancel")
    except GatewayError:
        truth = await gateway.retrieve_payment(gateway_payment_id)
        if truth.status is PaymentStatus.CANCELED or truth.status is PaymentStatus.SUCCEEDED:
            return truth
        raise


class CreatePaymentForOrder:
    """Open the order's payment on a gateway account, or return the live one it already has there."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids
        self._settle = PaymentSettler(uow, clock)
        self._remember_card = RememberCardOfPayment(uow, registry, clock, ids)

    async def __call__(self, command: CreatePaymentCommand) -> PaymentIntentView:
        # A known customer (the usual case) is read together with the order; a new one, or one whose token brings
        # another email, goes through get_or_create_customer first. The reads lock nothing and decide nothing
        # alone (one live payment per order is a unique index), so they need no transaction: a reader.
        async with self._uow.reader() as uow:
            customer = await uow.customers.get_by_reference(command.shopper.reference)
            known = customer is not None and (not command.shopper.email or customer.email == command.shopper.email)
            if customer is not None and known:
                order, account, live, method = await self._read(uow, command, customer)
        if customer is None or not known:
            customer = await get_or_create_customer(self._uow, self._ids, self._clock, command.shopper.reference,
                                                    command.shopper.email)
            async with self._uow.reader() as uow:
                order, account, live, method = await self._read(uow, command, customer)
        if live is not None and live.gateway_payment_id is not None:
            return PaymentIntentView(live, account, created=False)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            raise Conflict(f"order {order.id} is {order.status.value}")

        gateway = self._registry.gateway_for(account)
        gateway.validate_amount(order.total)
        # The intent always carries the shopper's gateway customer: a saved card can only pay an intent of
        # its own customer, and a card saved by this payment is attached there.
        gateway_customer_id = await ensure_gateway_customer(self._uow, gateway, customer, account)

        payment = live or await self._open(command, order.customer_id, order.total.amount, order.currency, method)
        if payment.gateway_payment_id is not None:  # a concurrent request won the race and finished
            return PaymentIntentView(payment, account, created=False)
        request = CreatePaymentRequest(
            payment_id=payment.id,
            order_id=order.id,
            amount=order.total,
            capture_method=payment.capture_method,
            gateway_customer_id=gateway_customer_id,
            gateway_payment_method_id=payment.gateway_payment_method_id,
            save_card=payment.save_card,
            confirm=command.confirm and payment.gateway_payment_method_id is not None,
            return_url=command.return_url,
            description=f"Order {order.id}",
        )
        created = await gateway.create_payment(request, idempotency_key=f"{payment.id}:create")
        settled = await self._settle(payment.id, created.snapshot, client_secret=created.client_secret,
                                     as_read=payment)
        await remember_card_quietly(self._remember_card, settled)
        return PaymentIntentView(settled, account, created=live is None)

    @staticmethod
    async def _read(
        uow: UnitOfWork, command: CreatePaymentCommand, customer: Customer
    ) -> tuple[Order, GatewayAccount, Payment | None, PaymentMethod | None]:
        order = await uow.orders.get(command.order_id)
        if order is None or order.customer_id != customer.id:
            raise NotFound(f"no order {command.order_id}")
        account = await active_account(uow, command.gateway_account_id)
        live = await uow.payments.find_live(order.id, account.id)
        method = None
        if command.payment_method_id is not None:
            method = await card_to_pay_with(uow, customer.id, command.payment_method_id, account.id)
        return order, account, live, method

    async def _open(
        self, command: CreatePaymentCommand, customer_id: str, amount: int, currency: str,
        method: PaymentMethod | None,
    ) -> Payment:
        payment = Payment.open(
            id=self._ids.new_id("pay"),
            order_id=command.order_id,
            customer_id=customer_id,
            gateway_account_id=command.gateway_account_id,
            amount=Money(amount, currency),
            capture_method=command.capture_method,
            now=self._clock.now(),
            payment_method_id=method.id if method else None,
            gateway_payment_method_id=method.gateway_payment_method_id if method else None,
            save_card=command.save_card,
        )
        try:
            # One aggregate and its event, atomic alone: an autocommit unit of work may write them in one round trip.
            async with self._uow.autocommit() as uow:
                await uow.payments.add(payment)
                await uow.commit()
            return payment
        except DuplicateRecord:
            # Another request opened the live payment first: there is one per order and account.
            async with self._uow() as uow:
                raced = await uow.payments.find_live(command.order_id, command.gateway_account_id)
            if raced is None:
                raise Conflict("the order's payment changed while it was being opened; try again") from None
            return raced


class ConfirmPayment:
    """Confirm the payment with a card. A decline is an answer, not an error: the payment comes back in
    requires_payment_method with last_payment_error and can be confirmed again with another card."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock = uow, registry, clock
        self._settle = PaymentSettler(uow, clock)
        self._remember_card = RememberCardOfPayment(uow, registry, clock, ids)

    async def __call__(self, command: ConfirmPaymentCommand) -> Payment:
        attempt = await retry_on_conflict(lambda: self._start_attempt(command))
        payment, gateway = attempt.payment, attempt.gateway
        assert payment.gateway_payment_id is not None  # checked when the attempt started
        try:
            snapshot = await gateway.confirm_payment(
                gateway_payment_id=payment.gateway_payment_id,
                gateway_payment_method_id=attempt.gateway_payment_method_id,
                return_url=command.return_url,
                idempotency_key=attempt.idempotency_key,
            )
        except CardDeclined:
            snapshot = await gateway.retrieve_payment(payment.gateway_payment_id)
        except InvalidGatewayRequest:
            # A retry whose earlier attempt went through (its answer was lost, or the process died before saving
            # it) is refused: the intent is past confirmation. Then the intent's truth is the answer.
            snapshot = await gateway.retrieve_payment(payment.gateway_payment_id)
            if snapshot.status not in _PAST_CONFIRMATION:
                raise
        settled = await self._settle(payment.id, snapshot, as_read=payment)
        await remember_card_quietly(self._remember_card, settled)
        return settled

    async def _start_attempt(self, command: ConfirmPaymentCommand) -> _Attempt:
        """Check the request and persist the attempt number before calling the gateway, so the key is never
        handed out twice. The attempt is one UPDATE matched on the version read: a confirm or settlement that
        changed the payment in between makes it fail (ConcurrentUpdate) and the attempt is checked again on fresh
        reads, as a row lock would have made it wait and then see the change. The UPDATE commits alone (nothing
        else is written, no event), so no transaction spans the reads; its conflict may come from commit(), which
        the caller's retry wraps too. Nothing is written when a check fails."""
        async with self._uow.autocommit() as uow:
            payment = await uow.payments.get(command.payment_id)
            customer_id = await uow.customers.id_of(command.shopper.reference)
            if payment is None or customer_id is None or payment.customer_id != customer_id:
                raise NotFound(f"no payment {command.payment_id}")
            payment.ensure_confirmable()
            gateway_payment_method_id = payment.gateway_payment_method_id
            if command.payment_method_id is not None:
                method = await card_to_pay_with(uow, customer_id, command.payment_method_id,
                                                payment.gateway_account_id)
                gateway_payment_method_id = method.gateway_payment_method_id
            account = await uow.gateway_accounts.get(payment.gateway_account_id)
            if account is None or payment.gateway_payment_id is None:
                raise Conflict("the payment is not open at its gateway yet; create the intent again")
            if gateway_payment_method_id is None:
                raise ValidationFailed("payment_method_id is required: the payment has no card yet")
            gateway = self._registry.gateway_for(account)
            key = payment.start_confirmation()
            await uow.payments.update(payment)
            await uow.commit()
        return _Attempt(payment, gateway, gateway_payment_method_id, key)


class CapturePayment:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock) -> None:
        self._uow, self._registry, self._clock = uow, registry, clock
        self._settle = PaymentSettler(uow, clock)

    async def __call__(self, payment_id: str, amount: int | None = None) -> Payment:
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None:
                raise NotFound(f"no payment {payment_id}")
            account = await uow.gateway_accounts.get(payment.gateway_account_id)
        to_capture = payment.ensure_capturable(amount)
        if account is None or payment.gateway_payment_id is None:
            raise Conflict("the payment is not open at its gateway")
        snapshot = await self._registry.gateway_for(account).capture_payment(
            gateway_payment_id=payment.gateway_payment_id,
            amount=to_capture,
            idempotency_key=f"{payment.id}:capture",
        )
        return await self._settle(payment.id, snapshot, as_read=payment)


class CancelPayment:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock) -> None:
        self._uow, self._registry, self._clock = uow, registry, clock
        self._settle = PaymentSettler(uow, clock)

    async def __call__(self, payment_id: str) -> Payment:
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None:
                raise NotFound(f"no payment {payment_id}")
            account = await uow.gateway_accounts.get(payment.gateway_account_id)
        if payment.status is PaymentStatus.CANCELED:
            return payment
        payment.ensure_cancelable()
        if account is None:
            raise Conflict("the payment's gateway is gone")
        snapshot = await cancel_at_gateway(self._registry.gateway_for(account), payment, self._clock)
        settled = await self._settle(payment.id, snapshot, as_read=payment)
        if settled.status is not PaymentStatus.CANCELED:
            raise Conflict(f"payment {payment_id} is {settled.status.value} and cannot be canceled")
        return settled


class GetPayment:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, payment_id: str, customer_reference: str | None = None) -> Payment:
        # Two reads each consistent alone: the payment (with its children, in one snapshot), and who the shopper is.
        async with self._uow.reader() as uow:
            payment = await uow.payments.get(payment_id)
            if (payment is not None and customer_reference is not None
                    and await uow.customers.id_of(customer_reference) != payment.customer_id):
                payment = None
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        return payment
