"""Reconciliation: re-read from the gateway what stayed non-final too long and settle the truth.

It repairs what webhooks and crashes can leave behind: a lost or never-sent event, a creation whose answer
was lost before the gateway id was saved (found again by the metadata hexpay sets), a refund whose
request timed out (replayed with the same idempotency key). Several reconcilers may run at once: the
payment row lock serialises them and settlement is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry, PaymentGateway
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import retry_on_conflict, settle_refund_report, settle_report
from application.use_cases.refunds import SubmitRefund
from domain.errors import GatewayError
from domain.outcome import SettlementOutcome
from domain.payment import Payment, PaymentSnapshot, PaymentStatus
from domain.refund import RefundSnapshot, RefundStatus

# A creation whose answer was lost and that the gateway cannot find after this long never happened:
# the payment is canceled locally so the order can be paid afresh.
LOST_CREATION_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int
    changed: int
    failed: int = 0


class Reconcile:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, older_than: timedelta = timedelta(minutes=10), limit: int = 200) -> ReconcileResult:
        async with self._uow() as uow:
            candidates = await uow.payments.list_unsettled(updated_before=self._clock.now() - older_than,
                                                           limit=limit)
            # Claim them before the rows are unlocked: touched now, they leave every other reconciler's list until
            # they are old again, so reconcilers running at once share the work instead of re-reading it all.
            for candidate in candidates:
                candidate.updated_at = self._clock.now()
                await uow.payments.update(candidate)
            await uow.commit()
        changed = failed = 0
        for candidate in candidates:
            try:
                if await self._reconcile_one(candidate):
                    changed += 1
            except GatewayError:
                failed += 1  # the gateway is unreachable for this one; the next run tries again
        return ReconcileResult(checked=len(candidates), changed=changed, failed=failed)

    async def _reconcile_one(self, candidate: Payment) -> bool:
        async with self._uow() as uow:
            account = await uow.gateway_accounts.get(candidate.gateway_account_id)
        if account is None:
            return False
        gateway = self._registry.gateway_for(account)
        changed = False
        if not candidate.status.is_final:
            report = await self._payment_truth(gateway, candidate)
            if report is not None:
                changed |= await self._settle(candidate.id, report)
        for refund in candidate.refunds:
            if refund.status not in (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION):
                continue
            if refund.gateway_refund_id is None:
                submitted = await SubmitRefund(self._uow, self._registry, self._clock, self._ids)(
                    candidate.id, refund.id)
                changed |= submitted.status is not RefundStatus.PENDING or submitted.gateway_refund_id is not None
            else:
                refund_report = await gateway.retrieve_refund(refund.gateway_refund_id)
                changed |= await self._settle_refund(candidate.id, refund_report)
        await self._touch(candidate.id)
        return changed

    async def _payment_truth(self, gateway: PaymentGateway, payment: Payment) -> PaymentSnapshot | None:
        if payment.gateway_payment_id is not None:
            return await gateway.retrieve_payment(payment.gateway_payment_id)
        found = await gateway.find_payment(payment.id)
        if found is not None:
            return found
        if self._clock.now() - payment.created_at < LOST_CREATION_GRACE:
            return None
        return PaymentSnapshot(status=PaymentStatus.CANCELED, amount=payment.amount, currency=payment.currency,
                               amount_received=0, amount_capturable=0, observed_at=self._clock.now())

    async def _settle(self, payment_id: str, report: PaymentSnapshot) -> bool:
        async def settle() -> bool:
            async with self._uow() as uow:
                payment = await uow.payments.get_for_update(payment_id)
                if payment is None:
                    return False
                if report.gateway_payment_id and payment.gateway_payment_id is None:
                    payment.link_gateway_intent(report.gateway_payment_id, None, self._clock.now())
                outcome = await settle_report(uow, payment, report, self._clock)
                await uow.commit()
                return outcome is SettlementOutcome.APPLIED

        return await retry_on_conflict(settle)

    async def _settle_refund(self, payment_id: str, report: RefundSnapshot) -> bool:
        async def settle() -> bool:
            async with self._uow() as uow:
                payment = await uow.payments.get_for_update(payment_id)
                if payment is None:
                    return False
                outcome = await settle_refund_report(uow, payment, report, self._clock, self._ids)
                await uow.commit()
                return outcome is SettlementOutcome.APPLIED

        return await retry_on_conflict(settle)

    async def _touch(self, payment_id: str) -> None:
        """Move the payment to the back of the queue so one stuck payment cannot starve the others."""

        async def touch() -> None:
            async with self._uow() as uow:
                payment = await uow.payments.get_for_update(payment_id)
                if payment is not None:
                    payment.updated_at = self._clock.now()
                    await uow.payments.update(payment)
                    await uow.commit()

        await retry_on_conflict(touch)
