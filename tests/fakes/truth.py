"""Does hexpay agree with the gateway? Every payment, refund, order, invoice and event checked against the books.

`compare_with_gateway` returns the disagreements as sentences (empty: hexpay equals the gateway's truth) and the
counts it checked. It works on any unit of work factory (memory, SQLite, Postgres), starting from the orders a
test created and from every intent at the gateway, so nothing on either side goes unseen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from application.ports.repositories import StoredEvent
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.invoice import InvoiceStatus
from domain.order import OrderStatus
from domain.payment import Payment, PaymentStatus
from domain.refund import RefundStatus
from tests.fakes.gateway_ledger import GatewayLedger


@dataclass
class Agreement:
    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def check(self, ok: bool, problem: str) -> None:
        self.counts["checks"] += 1
        if not ok:
            self.problems.append(problem)


async def all_events(uow: UnitOfWorkFactory) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    cursor: str | None = None
    while True:
        async with uow() as tx:
            page = await tx.events.list_after(cursor, 500)
        if not page:
            return events
        events.extend(page)
        cursor = page[-1].id


async def compare_with_gateway(
    uow: UnitOfWorkFactory, ledger: GatewayLedger, order_ids: Iterable[str], *, disputes: bool = False
) -> Agreement:
    agreement = Agreement()
    events = await all_events(uow)
    by_type = Counter((e.type, _subject(e)) for e in events)
    agreement.counts["events"] = len(events)
    payments: dict[str, Payment] = {}
    order_ids = list(order_ids)
    async with uow() as tx:
        for order_id in order_ids:
            for payment in await tx.payments.list_for_order(order_id):
                payments[payment.id] = payment
        for intent in ledger.intents():
            known = payments.get(intent.payment_id or "") or (
                await tx.payments.get(intent.payment_id) if intent.payment_id else None)
            agreement.check(known is not None, f"intent {intent.gateway_payment_id} has no payment at hexpay")
        orders = {order_id: await tx.orders.get(order_id) for order_id in order_ids}
        invoices = {order_id: await tx.invoices.get_for_order(order_id) for order_id in order_ids}

    for payment in payments.values():
        _compare_payment(agreement, ledger, payment, by_type, disputes)
    for order_id in order_ids:
        order, invoice = orders[order_id], invoices[order_id]
        if order is None or invoice is None:
            agreement.check(False, f"order {order_id} or its invoice is missing")
            continue
        agreement.counts["orders"] += 1
        succeeded = [p for p in payments.values() if p.order_id == order_id and p.status is PaymentStatus.SUCCEEDED]
        agreement.check(len(succeeded) <= 1, f"order {order_id} was paid {len(succeeded)} times")
        agreement.check(by_type[("OrderPaid", order_id)] == (1 if succeeded else 0),
                        f"order {order_id}: {by_type[('OrderPaid', order_id)]} OrderPaid events")
        agreement.check(by_type[("InvoicePaid", invoice.id)] == (1 if succeeded else 0),
                        f"invoice {invoice.id}: {by_type[('InvoicePaid', invoice.id)]} InvoicePaid events")
        if not succeeded:
            agreement.check(order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELED),
                            f"order {order_id} is {order.status} without a succeeded payment")
            agreement.check(invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.VOID),
                            f"invoice of {order_id} is {invoice.status} without a succeeded payment")
            continue
        paid = succeeded[0]
        taken_back = paid.amount_refunded + paid.amount_lost_to_disputes
        expected = (OrderStatus.PAID if taken_back == 0 else
                    OrderStatus.REFUNDED if taken_back >= paid.amount_received else OrderStatus.PARTIALLY_REFUNDED)
        agreement.check(order.payment_id == paid.id, f"order {order_id} names payment {order.payment_id}")
        agreement.check(order.status is expected, f"order {order_id} is {order.status}, its payment says {expected}")
        agreement.check(order.amount_refunded == taken_back,
                        f"order {order_id} refunded {order.amount_refunded}, payment says {taken_back}")
        agreement.check((invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, paid.amount_received),
                        f"invoice of {order_id} is {invoice.status} with {invoice.amount_paid} paid")
    agreement.counts["payments"] = len(payments)
    return agreement


def _compare_payment(
    agreement: Agreement, ledger: GatewayLedger, payment: Payment, by_type: Counter[tuple[str, str]], disputes: bool
) -> None:
    intents = ledger.intents_of(payment.id)
    agreement.check(len(intents) <= 1, f"payment {payment.id} has {len(intents)} intents at the gateway")
    succeeded_events = by_type[("PaymentSucceeded", payment.id)]
    agreement.check(succeeded_events == (1 if payment.status is PaymentStatus.SUCCEEDED else 0),
                    f"payment {payment.id} is {payment.status} with {succeeded_events} PaymentSucceeded events")
    if not intents:
        agreement.check(payment.gateway_payment_id is None, f"payment {payment.id} names a missing intent")
        agreement.check(payment.status in (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.CANCELED),
                        f"payment {payment.id} is {payment.status} but the gateway never saw it")
        return
    intent = intents[0]
    agreement.counts["intents"] += 1
    agreement.counts["charges"] += ledger.successful_charges(payment.id)
    agreement.check(ledger.successful_charges(payment.id) <= 1, f"payment {payment.id} was charged more than once")
    agreement.check(payment.gateway_payment_id == intent.gateway_payment_id,
                    f"payment {payment.id} names {payment.gateway_payment_id}, the gateway {intent.gateway_payment_id}")
    agreement.check(payment.status.value == intent.status,
                    f"payment {payment.id} is {payment.status}, the gateway says {intent.status}")
    agreement.check(payment.amount_received == intent.amount_received,
                    f"payment {payment.id} received {payment.amount_received}, gateway {intent.amount_received}")
    agreement.check(payment.amount_refunded == intent.amount_refunded,
                    f"payment {payment.id} refunded {payment.amount_refunded}, gateway {intent.amount_refunded}")
    gateway_refunds = {rid for rid, _, _ in ledger.refunds_of(intent.gateway_payment_id)}
    local_refunds = Counter(r.gateway_refund_id for r in payment.refunds if r.gateway_refund_id)
    agreement.counts["refunds"] += len(gateway_refunds)
    agreement.check(set(local_refunds) == gateway_refunds and all(n == 1 for n in local_refunds.values()),
                    f"payment {payment.id} knows refunds {dict(local_refunds)}, the gateway {sorted(gateway_refunds)}")
    for refund in payment.refunds:
        agreement.check(refund.gateway_refund_id is not None or refund.status is RefundStatus.FAILED,
                        f"refund {refund.id} of {payment.id} never reached the gateway and is {refund.status}")
        succeeded_refund = by_type[("RefundSucceeded", refund.id)]
        agreement.check(succeeded_refund <= 1, f"refund {refund.id}: {succeeded_refund} RefundSucceeded events")
    if disputes:
        at_gateway = {(d, amount, status) for d, pi, amount, status in ledger.disputes()
                      if pi == intent.gateway_payment_id}
        local = {(d.gateway_dispute_id, d.amount, d.status) for d in payment.disputes}
        agreement.counts["disputes"] += len(at_gateway)
        agreement.check(local == at_gateway, f"payment {payment.id} knows disputes {local}, the gateway {at_gateway}")


def _subject(event: StoredEvent) -> str:
    """The id an event is about (PaymentSucceeded: the payment, OrderPaid: the order...), for counting."""
    for prefix, key in (("Payment", "payment_id"), ("Order", "order_id"), ("Invoice", "invoice_id"),
                        ("Refund", "refund_id"), ("Dispute", "dispute_id")):
        if event.type.startswith(prefix):
            return str(event.data.get(key, ""))
    return ""
