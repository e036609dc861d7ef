"""Refunding a succeeded payment, in full or in part."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import retry_on_conflict, settle_refund_report
from domain.errors import Conflict, GatewayUnavailable, InvalidGatewayRequest, NotFound, ValidationFailed
from domain.refund import Refund, RefundSnapshot

REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


@dataclass(frozen=True, slots=True)
class RefundPaymentCommand:
    payment_id: str
    amount: int | None = None  # what is still refundable when omitted
    reason: str | None = None
    # The client's key for this request (its Idempotency-Key): a retry with it reaches the refund reserved the
    # first time instead of reserving (and paying out) a second one.
    request_key: str | None = None


def refund_id_for(payment_id: str, request_key: str) -> str:
    """The refund's id derived from the client's request, so every retry of it names the same refund."""
    digest = hashlib.sha256(f"{payment_id}\n{request_key}".encode()).hexdigest()
    return f"rfd_{digest[:26]}"


class RefundPayment:
    """Reserve the amount on the payment first (under its lock, so concurrent refunds cannot together
    exceed what was received), then ask the gateway with the refund's own key, then settle its answer.
    A gateway timeout leaves the refund pending for reconciliation, which replays the same key."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, command: RefundPaymentCommand) -> Refund:
        if command.reason is not None and command.reason not in REFUND_REASONS:
            raise ValidationFailed(f"reason must be one of {', '.join(sorted(REFUND_REASONS))}")
        if command.amount is not None and command.amount <= 0:
            raise ValidationFailed("amount must be a positive number of minor units")

        derived_id = refund_id_for(command.payment_id, command.request_key) if command.request_key else None

        async def reserve() -> Refund:
            async with self._uow() as uow:
                payment = await uow.payments.get_for_update(command.payment_id)
                if payment is None:
                    raise NotFound(f"no payment {command.payment_id}")
                earlier = next((r for r in payment.refunds if r.id == derived_id), None)
                if earlier is not None:
                    if (command.amount not in (None, earlier.amount)) or command.reason != earlier.reason:
                        raise Conflict("this request key was used for another refund")
                    return earlier  # the retry of a request whose answer the client never got
                refund = payment.request_refund(refund_id=derived_id or self._ids.new_id("rfd"),
                                                amount=command.amount, reason=command.reason, now=self._clock.now())
                await uow.payments.update(payment)
                await uow.commit()
                return refund

        refund = await retry_on_conflict(reserve)
        if refund.gateway_refund_id is not None:
            return refund  # the gateway answered the first time; its later reports arrive by webhook
        return await SubmitRefund(self._uow, self._registry, self._clock, self._ids)(refund.payment_id, refund.id)


class SubmitRefund:
    """Send a reserved refund to the gateway and settle the answer; safe to repeat (same key)."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, payment_id: str, refund_id: str) -> Refund:
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None:
                raise NotFound(f"no payment {payment_id}")
            account = await uow.gateway_accounts.get(payment.gateway_account_id)
        refund = payment.refund(refund_id)
        if account is None or payment.gateway_payment_id is None:
            raise Conflict("the payment is not open at its gateway")
        snapshot: RefundSnapshot | None = None
        try:
            snapshot = await self._registry.gateway_for(account).create_refund(
                refund_id=refund.id,
                gateway_payment_id=payment.gateway_payment_id,
                amount=refund.amount,
                reason=refund.reason,
                idempotency_key=f"{refund.id}:create",
            )
        except GatewayUnavailable:
            raise  # stays pending; the client may retry and reconciliation will replay the same key
        except InvalidGatewayRequest as refused:
            return await self._abandon(payment_id, refund_id, refused.message)
        if snapshot.refund_id is None:  # the answer is to our request, whether or not metadata echoes it
            snapshot = replace(snapshot, refund_id=refund.id)

        async def settle() -> Refund:
            async with self._uow() as uow:
                locked = await uow.payments.get_for_update(payment_id)
                if locked is None:
                    raise NotFound(f"no payment {payment_id}")
                assert snapshot is not None
                await settle_refund_report(uow, locked, snapshot, self._clock, self._ids)
                await uow.commit()
                return locked.refund(refund_id)

        return await retry_on_conflict(settle)

    async def _abandon(self, payment_id: str, refund_id: str, reason: str) -> Refund:
        async def abandon() -> Refund:
            async with self._uow() as uow:
                locked = await uow.payments.get_for_update(payment_id)
                if locked is None:
                    raise NotFound(f"no payment {payment_id}")
                locked.abandon_refund(refund_id, reason, self._clock.now())
                await uow.payments.update(locked)
                await uow.commit()
                return locked.refund(refund_id)

        return await retry_on_conflict(abandon)
