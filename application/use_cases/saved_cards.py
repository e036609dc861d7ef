"""save_card=true: once the payment succeeds, its card becomes one of the shopper's saved methods."""

from __future__ import annotations

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import ensure_gateway_customer, retry_on_conflict
from domain.errors import DuplicateRecord
from domain.payment import Payment, PaymentStatus
from domain.payment_method import PaymentMethod


class RememberCardOfPayment:
    """Idempotent: a card already saved (or a payment without save_card) changes nothing."""

    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, payment: Payment) -> PaymentMethod | None:
        gateway_pm_id = payment.gateway_payment_method_id
        if not (payment.save_card and payment.status is PaymentStatus.SUCCEEDED and gateway_pm_id):
            return None
        async with self._uow() as uow:
            known = await uow.payment_methods.find_by_gateway_id(payment.gateway_account_id, gateway_pm_id)
            customer = await uow.customers.get(payment.customer_id)
            account = await uow.gateway_accounts.get(payment.gateway_account_id)
        if known is not None and not known.detached:
            return known
        if customer is None or account is None:
            return None
        gateway = self._registry.gateway_for(account)
        gateway_customer_id = await ensure_gateway_customer(self._uow, gateway, customer, account)
        # The gateway attached it with setup_future_usage; attaching again to the same customer is a no-op
        # that also tells us the card's brand and last4.
        attached = await gateway.attach_payment_method(
            gateway_customer_id=gateway_customer_id, gateway_payment_method_id=gateway_pm_id,
            idempotency_key=f"{customer.id}:attach:{gateway_pm_id}",
        )

        async def record() -> PaymentMethod | None:
            async with self._uow() as uow:
                existing = await uow.payment_methods.find_by_gateway_id(account.id, gateway_pm_id)
                if existing is not None:
                    if existing.detached:
                        existing.detached = False
                        await uow.payment_methods.update(existing)
                        await uow.commit()
                    return existing
                others = [m for m in await uow.payment_methods.list_for_customer(customer.id)
                          if m.gateway_account_id == account.id]
                method = PaymentMethod(
                    id=self._ids.new_id("cpm"), customer_id=customer.id, gateway_account_id=account.id,
                    gateway_payment_method_id=gateway_pm_id, card=attached.card,
                    is_default=not any(m.is_default for m in others), created_at=self._clock.now(),
                )
                try:
                    await uow.payment_methods.add(method)
                    await uow.commit()
                except DuplicateRecord:
                    return None  # saved concurrently by the webhook or the confirm answer
                return method

        return await retry_on_conflict(record)
