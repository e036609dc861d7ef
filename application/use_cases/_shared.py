"""Steps several use cases share: finding the caller's customer, the gateway of an account, settling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayCustomerRequest, GatewayRegistry, PaymentGateway
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.customer import Customer
from domain.errors import ConcurrentUpdate, DuplicateRecord, NotFound, ValidationFailed
from domain.gateway_account import GatewayAccount
from domain.invoice import Invoice
from domain.order import Order
from domain.outcome import SettlementOutcome
from domain.payment import Payment, PaymentSnapshot
from domain.payment_method import PaymentMethod
from domain.refund import RefundSnapshot
from domain.settlement import cascade, report_cascades, settle_refund

T = TypeVar("T")

RETRIES_ON_CONCURRENT_UPDATE = 5


async def retry_on_conflict(step: Callable[[], Awaitable[T]], attempts: int = RETRIES_ON_CONCURRENT_UPDATE) -> T:
    """Run a whole transaction again when an optimistic version check lost a race; it re-reads everything."""
    for attempt in range(attempts):
        try:
            return await step()
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


async def get_or_create_customer(
    uow_factory: UnitOfWorkFactory, ids: IdGenerator, clock: Clock, reference: str, email: str | None
) -> Customer:
    """The caller's customer, created on first use. Two first requests racing end with one customer."""
    async with uow_factory() as uow:
        found = await uow.customers.get_by_reference(reference)
        if found is not None:
            if email and found.email != email:
                found.email = email
                try:
                    await uow.customers.update(found)
                    await uow.commit()
                except ConcurrentUpdate:
                    pass  # someone else updated it; the email is a convenience, not a guarantee
            return found
        customer = Customer(id=ids.new_id("cus"), reference=reference, email=email, created_at=clock.now())
        try:
            await uow.customers.add(customer)
            await uow.commit()
            return customer
        except DuplicateRecord:
            pass
    async with uow_factory() as uow:
        raced = await uow.customers.get_by_reference(reference)
        if raced is None:
            raise NotFound("customer vanished while being created")
        return raced


async def find_customer(uow: UnitOfWork, reference: str) -> Customer | None:
    return await uow.customers.get_by_reference(reference)


async def active_account(uow: UnitOfWork, account_id: str) -> GatewayAccount:
    account = await uow.gateway_accounts.get(account_id)
    if account is None or not account.is_active:
        raise NotFound(f"no active gateway {account_id}")
    return account


async def owned_payment_method(uow: UnitOfWork, customer_id: str, payment_method_id: str) -> PaymentMethod:
    """Another customer's method (or a removed one) is reported exactly like a missing one."""
    method = await uow.payment_methods.get(payment_method_id)
    if method is None or method.customer_id != customer_id or method.detached:
        raise NotFound(f"no payment method {payment_method_id}")
    return method


async def card_to_pay_with(
    uow: UnitOfWork, customer_id: str, payment_method_id: str, gateway_account_id: str
) -> PaymentMethod:
    """The customer's saved card, which must live at the gateway account the payment goes through."""
    method = await owned_payment_method(uow, customer_id, payment_method_id)
    if method.gateway_account_id != gateway_account_id:
        raise ValidationFailed("the payment method belongs to another gateway")
    return method


async def ensure_gateway_customer(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, customer: Customer, account: GatewayAccount
) -> str:
    """The customer's id at this gateway account, created there once (the key makes a retry reuse it)."""
    known = customer.gateway_customer_id(account.id)
    if known:
        return known
    gateway_customer_id = await gateway.ensure_customer(
        GatewayCustomerRequest(customer_id=customer.id, reference=customer.reference, email=customer.email),
        idempotency_key=f"{customer.id}:{account.id}:customer",
    )

    async def link() -> None:
        async with uow_factory() as uow:
            fresh = await uow.customers.get(customer.id)
            if fresh is None:
                raise NotFound("customer not found")
            if fresh.gateway_customer_id(account.id) == gateway_customer_id:
                return
            fresh.link_gateway_customer(account.id, gateway_customer_id)
            await uow.customers.update(fresh)
            await uow.commit()

    await retry_on_conflict(link)
    customer.gateway_customer_ids[account.id] = gateway_customer_id
    return gateway_customer_id


def gateway_of(registry: GatewayRegistry, account: GatewayAccount) -> PaymentGateway:
    return registry.gateway_for(account)


async def settle_report(
    uow: UnitOfWork, payment: Payment, snapshot: PaymentSnapshot, clock: Clock, *, direct_answer: bool = True
) -> SettlementOutcome:
    """Settle the gateway's answer to our call (or a fresh read) on a payment loaded under lock in this uow,
    cascading to order and invoice. Webhook events go through domain.settlement directly.

    This is domain.settlement.settle_payment taken in its two halves, joined by the domain's own
    report_cascades, so that order and invoice are read only when the payment's new state can change them: the
    answer to a create, a 3-D Secure challenge or a decline settles without them, a read fewer under the
    payment's lock."""
    now = clock.now()
    outcome = payment.apply(snapshot, now, direct_answer=direct_answer)
    if not report_cascades(payment, outcome):
        await uow.payments.update(payment)
        return outcome
    order, invoice = await order_and_invoice(uow, payment)
    cascade(payment, order, invoice, now)
    await save_settled(uow, payment, order, invoice)
    return outcome


async def order_and_invoice(uow: UnitOfWork, payment: Payment) -> tuple[Order, Invoice]:
    order, invoice = await uow.orders.get_with_invoice(payment.order_id) or (None, None)
    if order is None or invoice is None:
        raise NotFound(f"order of payment {payment.id} not found")
    return order, invoice


async def settle_refund_report(
    uow: UnitOfWork, payment: Payment, snapshot: RefundSnapshot, clock: Clock, ids: IdGenerator
) -> SettlementOutcome:
    order, invoice = await order_and_invoice(uow, payment)
    outcome = settle_refund(payment, order, invoice, snapshot, clock.now(), ids.new_id("rfd"))
    await save_settled(uow, payment, order, invoice)
    return outcome


async def save_settled(uow: UnitOfWork, payment: Payment, order: Order, invoice: Invoice) -> None:
    """Write back what a settlement touched. Order and invoice change only through verbs that record an
    event, so an aggregate without new events is left alone (no needless version bump, no needless conflict)."""
    await uow.payments.update(payment)
    if order.events:
        await uow.orders.update(order)
    if invoice.events:
        await uow.invoices.update(invoice)
