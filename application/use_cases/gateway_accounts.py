"""Registering and updating gateway accounts (the shop backend's configuration)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from application.ports.clock import Clock, IdGenerator
from application.ports.gateway import GatewayRegistry
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases._shared import retry_on_conflict
from domain.errors import NotFound, ValidationFailed
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret


@dataclass(frozen=True, slots=True)
class RegisterGatewayAccountCommand:
    name: str
    kind: str
    secret_key: str
    publishable_key: str
    webhook_secret: str
    api_base: str | None = None
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class UpdateGatewayAccountCommand:
    account_id: str
    name: str | None = None
    is_active: bool | None = None
    secret_key: str | None = None
    publishable_key: str | None = None
    webhook_secret: str | None = None
    api_base: str | None = None


class RegisterGatewayAccount:
    def __init__(self, uow: UnitOfWorkFactory, registry: GatewayRegistry, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._registry, self._clock, self._ids = uow, registry, clock, ids

    async def __call__(self, command: RegisterGatewayAccountCommand) -> GatewayAccount:
        if not self._registry.is_known(command.kind):
            raise ValidationFailed(
                f"unknown gateway kind {command.kind!r}; known: {', '.join(sorted(self._registry.kinds()))}"
            )
        if not command.webhook_secret:
            raise ValidationFailed("config.webhook_secret is required: webhooks are verified with it")
        account = GatewayAccount(
            id=self._ids.new_id("gw"),
            name=command.name,
            kind=command.kind,
            publishable_key=command.publishable_key,
            credentials=GatewayCredentials(
                secret_key=Secret(command.secret_key),
                webhook_secret=Secret(command.webhook_secret),
                api_base=command.api_base,
            ),
            is_active=command.is_active,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.gateway_accounts.add(account)
            await uow.commit()
        return account


class UpdateGatewayAccount:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, command: UpdateGatewayAccountCommand) -> GatewayAccount:
        async with self._uow() as uow:
            account = await uow.gateway_accounts.get(command.account_id)
            if account is None:
                raise NotFound(f"no gateway {command.account_id}")
            if command.name is not None:
                account.name = command.name
            if command.is_active is not None:
                account.is_active = command.is_active
            if command.publishable_key is not None:
                account.publishable_key = command.publishable_key
            creds = account.credentials
            account.credentials = GatewayCredentials(
                secret_key=Secret(command.secret_key) if command.secret_key else creds.secret_key,
                webhook_secret=Secret(command.webhook_secret) if command.webhook_secret else creds.webhook_secret,
                api_base=command.api_base if command.api_base is not None else creds.api_base,
            )
            account.__post_init__()
            await uow.gateway_accounts.update(account)
            await uow.commit()
            return account


class GetGatewayAccount:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, account_id: str) -> GatewayAccount:
        async with self._uow() as uow:
            account = await uow.gateway_accounts.get(account_id)
        if account is None:
            raise NotFound(f"no gateway {account_id}")
        return account


class ListGatewayAccounts:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, *, active_only: bool = False) -> list[GatewayAccount]:
        async with self._uow() as uow:
            return await uow.gateway_accounts.list(active_only=active_only)


@dataclass(frozen=True, slots=True)
class Resealed:
    accounts: int
    payments: int


class ReencryptCredentials:
    """Seal every secret at rest again with the current key (the first of HEXPAY_SECRET_KEY): each gateway
    account's credentials, and each payment's client_secret.

    Repositories seal on every write, so saving each aggregate again is the whole rotation; afterwards the old
    keys can be dropped from HEXPAY_SECRET_KEY. Accounts move in one transaction. Payments are found through the
    event feed (every payment ever opened published PaymentCreated) and saved one by one under their row lock, so
    a payment being settled meanwhile is never overwritten.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self) -> Resealed:
        async with self._uow() as uow:
            accounts = await uow.gateway_accounts.list()
            for account in accounts:
                await uow.gateway_accounts.update(account)
            await uow.commit()
        payments = 0
        for payment_id in await self._payment_ids():
            payments += await retry_on_conflict(functools.partial(self._reseal, payment_id))
        return Resealed(accounts=len(accounts), payments=payments)

    async def _payment_ids(self) -> list[str]:
        ids: dict[str, None] = {}
        cursor: str | None = None
        while True:
            async with self._uow() as uow:
                page = await uow.events.list_after(cursor, 500)
            if not page:
                return list(ids)
            ids.update((str(e.data["payment_id"]), None) for e in page if e.type == "PaymentCreated")
            cursor = page[-1].id

    async def _reseal(self, payment_id: str) -> int:
        async with self._uow() as uow:
            payment = await uow.payments.get_for_update(payment_id)
            if payment is None:
                return 0
            await uow.payments.update(payment)
            await uow.commit()
            return 1
