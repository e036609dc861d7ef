"""Orders and their invoices: created by the shop backend, canceled, read by the shop and the shopper."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry
from application.ports.repositories import Page
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import get_or_create_customer, retry_on_conflict
from application.use_cases.payments import PaymentSettler, cancel_at_gateway
from domain.errors import Conflict, NotFound
from domain.invoice import Invoice, invoice_number
from domain.money import Money, currency_exponent
from domain.order import Order, OrderLine, OrderStatus


@dataclass(frozen=True, slots=True)
class OrderLineInput:
    description: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True, slots=True)
class CreateOrderCommand:
    customer_reference: str
    currency: str
    lines: tuple[OrderLineInput, ...]
    customer_email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    invoice: Invoice


class CreateOrder:
    """Place an order and open its invoice (finalized at once: it is owed from the start)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(self, command: CreateOrderCommand) -> OrderView:
        currency_exponent(command.currency)  # an unknown currency fails before anything is written
        lines = tuple(
            OrderLine(line.description, line.quantity, Money(line.unit_amount, command.currency))
            for line in command.lines
        )
        customer = await get_or_create_customer(
            self._uow, self._ids, self._clock, command.customer_reference, command.customer_email
        )
        now = self._clock.now()
        order = Order.place(
            id=self._ids.new_id("ord"),
            customer_id=customer.id,
            customer_reference=customer.reference,
            currency=command.currency,
            lines=lines,
            metadata=command.metadata,
            now=now,
        )
        async with self._uow() as uow:
            sequence = await uow.invoices.next_sequence(now.year)
            invoice = Invoice.draft(
                id=self._ids.new_id("inv"),
                order_id=order.id,
                number=invoice_number(now.year, sequence),
                amount_due=order.total,
                now=now,
            )
            invoice.finalize(now)
            await uow.orders.add(order)
            await uow.invoices.add(invoice)
            await uow.commit()
        return OrderView(order, invoice)


class GetOrder:
    """An order with its invoice; with a customer reference, only that customer's (else NotFound)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, order_id: str, customer_reference: str | None = None) -> OrderView:
        async with self._uow.reader() as uow:  # one read: the order with its lines and invoice
            found = await uow.orders.get_with_invoice(order_id)
        if found is None or (customer_reference is not None and found[0].customer_reference != customer_reference):
            raise NotFound(f"no order {order_id}")
        order, invoice = found
        if invoice is None:
            raise NotFound(f"order {order_id} has no invoice")
        return OrderView(order, invoice)


class ListCustomerOrders:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, customer_reference: str, page: Page) -> list[OrderView]:
        async with self._uow() as uow:
            customer_id = await uow.customers.id_of(customer_reference)
            if customer_id is None:
                return []
            orders = await uow.orders.list_for_customer(customer_id, page)
            invoices = await uow.invoices.list_for_orders([order.id for order in orders])  # one read per page
            return [OrderView(order, invoices[order.id]) for order in orders if order.id in invoices]


class CancelOrder:
    """Cancel an unpaid order: its live payments are canceled at the gateway first, then the order is
    canceled and its invoice voided. An order that turns out to be paid (its payment succeeded in the
    meantime) is settled as paid and the cancel is refused (409)."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock) -> None:
        self._uow, self._registry, self._clock = uow, registry, clock
        self._settle = PaymentSettler(uow, clock)

    async def __call__(self, order_id: str) -> OrderView:
        async with self._uow() as uow:
            order = await uow.orders.get(order_id)
            if order is None:
                raise NotFound(f"no order {order_id}")
            if order.status is OrderStatus.CANCELED:
                invoice = await uow.invoices.get_for_order(order_id)
                assert invoice is not None
                return OrderView(order, invoice)
            if order.status is not OrderStatus.PENDING_PAYMENT:
                raise Conflict(f"order {order_id} is {order.status.value}; refund it instead")
            live = [p for p in await uow.payments.list_for_order(order_id) if p.is_live]
            accounts = {p.gateway_account_id: await uow.gateway_accounts.get(p.gateway_account_id) for p in live}

        for payment in live:
            account = accounts[payment.gateway_account_id]
            if account is None:
                continue
            snapshot = await cancel_at_gateway(self._registry.gateway_for(account), payment, self._clock)
            await self._settle(payment.id, snapshot)

        async def cancel() -> OrderView:
            async with self._uow() as uow:
                order, invoice = await uow.orders.get_with_invoice(order_id) or (None, None)
                if order is None or invoice is None:
                    raise NotFound(f"no order {order_id}")
                if order.status is not OrderStatus.PENDING_PAYMENT:
                    raise Conflict(f"order {order_id} is {order.status.value}; refund it instead")
                now = self._clock.now()
                order.cancel(now)
                invoice.void(now)
                await uow.orders.update(order)
                await uow.invoices.update(invoice)
                await uow.commit()
                return OrderView(order, invoice)

        return await retry_on_conflict(cancel)

