"""A shopper's saved cards: save (attach at the gateway), list, make default, update, remove (detach)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.use_cases._shared import (
    RETRIES_ON_CONCURRENT_UPDATE,
    active_account,
    ensure_gateway_customer,
    get_or_create_customer,
    owned_payment_method,
    retry_on_conflict,
)
from domain.customer import Customer
from domain.errors import DuplicateRecord, NotFound
from domain.payment_method import PaymentMethod


@dataclass(frozen=True, slots=True)
class Shopper:
    """The authenticated caller: the shop's user reference (JWT subject) and optional email."""

    reference: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SavePaymentMethodCommand:
    shopper: Shopper
    gateway_account_id: str
    gateway_payment_method_id: str
    is_default: bool | None = None
    cardholder_name: str | None = None


@dataclass(frozen=True, slots=True)
class UpdatePaymentMethodCommand:
    shopper: Shopper
    payment_method_id: str
    is_default: bool | None = None
    cardholder_name: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


async def _make_only_default(uow: UnitOfWork, method: PaymentMethod) -> None:
    """Clear the previous default first: the database allows one default per customer and account."""
    for other in await uow.payment_methods.list_for_customer(method.customer_id):
        if other.id != method.id and other.is_default and other.gateway_account_id == method.gateway_account_id:
            other.clear_default()
            await uow.payment_methods.update(other)
    method.make_default()


async def _record_raced(record: Callable[[], Awaitable[PaymentMethod]]) -> PaymentMethod:
    """Run the recording transaction again when a concurrent save won a unique key (the same card saved twice at
    once, or two first cards both claiming the default): the next run reads what the winner wrote."""
    for attempt in range(RETRIES_ON_CONCURRENT_UPDATE):
        try:
            return await retry_on_conflict(record)
        except DuplicateRecord:
            if attempt == RETRIES_ON_CONCURRENT_UPDATE - 1:
                raise
    raise AssertionError("unreachable")


class SavePaymentMethod:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, command: SavePaymentMethodCommand) -> PaymentMethod:
        customer = await get_or_create_customer(
            self._uow, self._ids, self._clock, command.shopper.reference, command.shopper.email
        )
        async with self._uow() as uow:
            account = await active_account(uow, command.gateway_account_id)
            existing = await uow.payment_methods.find_by_gateway_id(account.id, command.gateway_payment_method_id)
        if existing is not None and existing.customer_id != customer.id:
            # Exactly as for a card hexpay has never seen: another customer's card is not even acknowledged.
            raise NotFound(f"no payment method {command.gateway_payment_method_id}")
        if existing is not None and not existing.detached and command.is_default is not True:
            return existing  # saving the same card again returns the saved one

        gateway = self._registry.gateway_for(account)
        gateway_customer_id = await ensure_gateway_customer(self._uow, gateway, customer, account)
        attached = await gateway.attach_payment_method(
            gateway_customer_id=gateway_customer_id,
            gateway_payment_method_id=command.gateway_payment_method_id,
            idempotency_key=f"{customer.id}:attach:{command.gateway_payment_method_id}",
        )

        async def record() -> PaymentMethod:
            async with self._uow() as uow:
                method = await uow.payment_methods.find_by_gateway_id(account.id, attached.gateway_payment_method_id)
                saved = [m for m in await uow.payment_methods.list_for_customer(customer.id)
                         if m.gateway_account_id == account.id]
                now = self._clock.now()
                if method is None:
                    method = PaymentMethod(
                        id=self._ids.new_id("cpm"),
                        customer_id=customer.id,
                        gateway_account_id=account.id,
                        gateway_payment_method_id=attached.gateway_payment_method_id,
                        card=attached.card,
                        is_default=False,
                        created_at=now,
                        cardholder_name=command.cardholder_name,
                    )
                    await uow.payment_methods.add(method)
                else:  # a removed card saved again comes back
                    method.detached = False
                    method.card = attached.card
                    if command.cardholder_name:
                        method.cardholder_name = command.cardholder_name
                if command.is_default or not any(m.is_default for m in saved if m.id != method.id):
                    await _make_only_default(uow, method)
                await uow.payment_methods.update(method)
                await uow.commit()
                return method

        method = await _record_raced(record)
        if method.is_default:
            await gateway.set_default_payment_method(
                gateway_customer_id=gateway_customer_id,
                gateway_payment_method_id=method.gateway_payment_method_id,
                idempotency_key=f"{method.id}:default:{method.version}",
            )
        return method


class ListPaymentMethods:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, shopper: Shopper) -> list[PaymentMethod]:
        # Who the shopper is, then their cards: each read consistent alone.
        async with self._uow.reader() as uow:
            customer_id = await uow.customers.id_of(shopper.reference)
            if customer_id is None:
                return []
            return await uow.payment_methods.list_for_customer(customer_id)


class SetDefaultPaymentMethod:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry) -> None:
        self._uow, self._registry = uow, registry

    async def __call__(self, shopper: Shopper, payment_method_id: str) -> PaymentMethod:
        return await UpdatePaymentMethod(self._uow, self._registry)(
            UpdatePaymentMethodCommand(shopper=shopper, payment_method_id=payment_method_id, is_default=True)
        )


class UpdatePaymentMethod:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry) -> None:
        self._uow, self._registry = uow, registry

    async def __call__(self, command: UpdatePaymentMethodCommand) -> PaymentMethod:
        async def change() -> tuple[PaymentMethod, Customer, bool]:
            async with self._uow() as uow:
                customer = await uow.customers.get_by_reference(command.shopper.reference)
                if customer is None:
                    raise NotFound(f"no payment method {command.payment_method_id}")
                method = await owned_payment_method(uow, customer.id, command.payment_method_id)
                became_default = command.is_default is True and not method.is_default
                if became_default:
                    await _make_only_default(uow, method)
                elif command.is_default is False:
                    method.clear_default()
                method.update_card_details(
                    exp_month=command.exp_month, exp_year=command.exp_year, cardholder_name=command.cardholder_name
                )
                await uow.payment_methods.update(method)
                await uow.commit()
                return method, customer, became_default

        method, customer, became_default = await retry_on_conflict(change)
        if became_default:
            async with self._uow() as uow:
                account = await uow.gateway_accounts.get(method.gateway_account_id)
            gateway_customer_id = customer.gateway_customer_id(method.gateway_account_id)
            if account is not None and account.is_active and gateway_customer_id:
                await self._registry.gateway_for(account).set_default_payment_method(
                    gateway_customer_id=gateway_customer_id,
                    gateway_payment_method_id=method.gateway_payment_method_id,
                    idempotency_key=f"{method.id}:default:{method.version}",
                )
        return method


class RemovePaymentMethod:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock) -> None:
        self._uow, self._registry, self._clock = uow, registry, clock

    async def __call__(self, shopper: Shopper, payment_method_id: str) -> None:
        async with self._uow() as uow:
            customer = await uow.customers.get_by_reference(shopper.reference)
            if customer is None:
                raise NotFound(f"no payment method {payment_method_id}")
            method = await owned_payment_method(uow, customer.id, payment_method_id)
            account = await uow.gateway_accounts.get(method.gateway_account_id)
        if account is not None:
            await self._registry.gateway_for(account).detach_payment_method(
                gateway_payment_method_id=method.gateway_payment_method_id,
                idempotency_key=f"{method.id}:detach",
            )

        async def record() -> None:
            async with self._uow() as uow:
                fresh = await owned_payment_method(uow, customer.id, payment_method_id)
                was_default = fresh.is_default
                fresh.detach()
                await uow.payment_methods.update(fresh)
                if was_default:  # the newest remaining card takes over, so a shopper with cards has a default
                    rest = [m for m in await uow.payment_methods.list_for_customer(customer.id)
                            if m.gateway_account_id == fresh.gateway_account_id and m.id != fresh.id]
                    if rest:
                        rest[-1].make_default()
                        await uow.payment_methods.update(rest[-1])
                await uow.commit()

        await retry_on_conflict(record)
