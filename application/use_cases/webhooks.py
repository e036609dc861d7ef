"""Gateway webhooks: verified on the raw body, recorded once, settled in the same transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayEvent, GatewayRegistry
from application.ports.repositories import InboxEntry
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.use_cases._shared import order_and_invoice, retry_on_conflict, save_settled, settle_report
from application.use_cases.payments import PaymentSettler, remember_card_quietly
from application.use_cases.saved_cards import RememberCardOfPayment
from domain.errors import GatewayError, NotFound
from domain.gateway_account import GatewayAccount
from domain.outcome import SettlementOutcome
from domain.payment import Payment, PaymentSnapshot
from domain.settlement import settle_dispute, settle_payment, settle_refund


@dataclass(frozen=True, slots=True)
class WebhookResult:
    duplicate: bool
    outcome: str
    event_type: str = ""
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Received:
    result: WebhookResult
    account: GatewayAccount
    event: GatewayEvent
    payment: Payment | None  # as committed with the event


async def resolve_webhook_account(uow: UnitOfWork, gateway_ref: str) -> GatewayAccount:
    """The account named by id, or by kind when exactly one active account has that kind (/callback/stripe)."""
    account = await uow.gateway_accounts.get(gateway_ref)
    if account is not None:
        return account
    same_kind = [a for a in await uow.gateway_accounts.list(active_only=True) if a.kind == gateway_ref]
    if len(same_kind) == 1:
        return same_kind[0]
    raise NotFound(f"no gateway {gateway_ref}")


class HandleGatewayWebhook:
    """Each (account, event id) takes effect once however often it is delivered: the inbox row and the
    settlement commit together, so a crash before commit leaves the event for the gateway's retry, and a
    concurrent duplicate waits on the inbox's unique key and then finds it recorded."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids
        self._remember_card = RememberCardOfPayment(uow, registry, clock, ids)
        self._settle_answer = PaymentSettler(uow, clock)

    async def __call__(self, gateway_ref: str, raw_body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        received = await retry_on_conflict(lambda: self._receive(gateway_ref, raw_body, headers))
        result, event = received.result, received.event
        if result.outcome == SettlementOutcome.STALE.value and result.payment_id and event.payment is not None:
            await self._reread(received.account, result.payment_id)
        if result.outcome == SettlementOutcome.APPLIED.value and received.payment is not None:
            await remember_card_quietly(self._remember_card, received.payment)
        return result

    async def _receive(self, gateway_ref: str, raw_body: bytes, headers: Mapping[str, str]) -> _Received:
        """One transaction: the account, its signature on the raw body, the inbox row and the settlement."""
        async with self._uow() as uow:
            account = await resolve_webhook_account(uow, gateway_ref)
            # Raises InvalidSignature before anything is decoded or stored.
            event = self._registry.gateway_for(account).parse_webhook(raw_body, headers)
            result, payment = await self._record_and_settle(uow, account, event)
        return _Received(result, account, event, payment)

    async def _reread(self, account: GatewayAccount, payment_id: str) -> None:
        """A non-final event judged older than what we know may only look older: gateways stamp events in
        whole seconds, our own answers to the microsecond, so a decline reported in the same second as the
        confirm answer would be lost. Ask the gateway for the truth now and settle that, as reconciliation
        would. A gateway outage here only delays the truth until reconciliation."""
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None or payment.status.is_final or payment.gateway_payment_id is None:
            return
        with contextlib.suppress(GatewayError):
            truth = await self._registry.gateway_for(account).retrieve_payment(payment.gateway_payment_id)
            await self._settle_answer(payment_id, truth)

    async def _record_and_settle(
        self, uow: UnitOfWork, account: GatewayAccount, event: GatewayEvent
    ) -> tuple[WebhookResult, Payment | None]:
        entry = InboxEntry(gateway_account_id=account.id, event_id=event.event_id, type=event.type,
                           received_at=self._clock.now())
        claimed, earlier_outcome = await uow.webhook_inbox.claim(entry)
        if not claimed:
            return WebhookResult(duplicate=True, outcome=earlier_outcome or "duplicate", event_type=event.type), None
        payment = await self._find_payment(uow, account, event) if event.handled else None
        if not event.handled:
            outcome = "ignored"
        elif payment is None:
            outcome = "unknown_payment"
        else:
            outcome = await self._settle(uow, payment, event)
        await uow.webhook_inbox.set_outcome(account.id, event.event_id, outcome, payment.id if payment else None)
        await uow.commit()
        return WebhookResult(duplicate=False, outcome=outcome, event_type=event.type,
                             payment_id=payment.id if payment else None), payment

    async def _find_payment(self, uow: UnitOfWork, account: GatewayAccount, event: GatewayEvent) -> Payment | None:
        if event.payment_id:
            by_metadata = await uow.payments.get_for_update(event.payment_id)
            if by_metadata is not None and by_metadata.gateway_account_id == account.id:
                return by_metadata
        gateway_payment_id = event.gateway_payment_id or (event.payment.gateway_payment_id if event.payment else None)
        if gateway_payment_id:
            return await uow.payments.find_by_gateway_id(account.id, gateway_payment_id, for_update=True)
        for refund in event.refunds:
            holder = await uow.payments.find_by_gateway_refund_id(account.id, refund.gateway_refund_id)
            if holder is not None:
                return await uow.payments.get_for_update(holder.id)
        return None

    async def _settle(self, uow: UnitOfWork, payment: Payment, event: GatewayEvent) -> str:
        report = event.payment
        if (report is not None and not event.refunds and event.dispute is None
                and not _order_unknowable(payment, report)):
            # Most events report the payment alone: settled like a direct answer, which reads order and invoice
            # only when the payment's new state can change them.
            return (await settle_report(uow, payment, report, self._clock, direct_answer=False)).value
        try:
            order, invoice = await order_and_invoice(uow, payment)
        except NotFound:
            return "unknown_payment"
        now = self._clock.now()
        outcomes: list[SettlementOutcome] = []
        if event.payment is not None:
            if _order_unknowable(payment, event.payment):
                outcomes.append(SettlementOutcome.STALE)  # the gateway's truth decides: re-read after commit
            else:
                outcomes.append(settle_payment(payment, order, invoice, event.payment, now))
        for refund in event.refunds:
            outcomes.append(settle_refund(payment, order, invoice, refund, now, self._ids.new_id("rfd")))
        if event.dispute is not None:
            outcomes.append(settle_dispute(payment, order, invoice, event.dispute, now))
        await save_settled(uow, payment, order, invoice)
        return _summarise(outcomes)


def _order_unknowable(payment: Payment, report: PaymentSnapshot) -> bool:
    """A non-final report stamped no later than what hexpay already knows, about another status: gateways stamp
    events in whole seconds, so it may be older or newer (a 3-D Secure failing in the same second as the confirm
    is reported requires_action, then payment_failed, with one stamp). Neither order nor "further along" can
    tell; only the gateway's present state can."""
    return (not report.status.is_final and report.status is not payment.status
            and payment.observed_at is not None and report.observed_at <= payment.observed_at)


def _summarise(outcomes: list[SettlementOutcome]) -> str:
    """One word for the inbox: the most telling outcome of everything the event reported."""
    for worst in (SettlementOutcome.ANOMALY, SettlementOutcome.APPLIED, SettlementOutcome.STALE):
        if worst in outcomes:
            return worst.value
    return SettlementOutcome.UNCHANGED.value
