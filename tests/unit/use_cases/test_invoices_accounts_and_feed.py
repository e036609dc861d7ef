"""The shop backend's remaining use cases on memory + sandbox: invoices, gateway accounts, the event feed."""

from __future__ import annotations

import pytest

from application.use_cases.event_feed import ListEvents
from application.use_cases.gateway_accounts import (
    GetGatewayAccount,
    ListGatewayAccounts,
    RegisterGatewayAccount,
    RegisterGatewayAccountCommand,
    UpdateGatewayAccount,
    UpdateGatewayAccountCommand,
)
from application.use_cases.invoices import GetInvoice, MarkInvoiceUncollectible, VoidInvoice
from domain.errors import IllegalTransition, NotFound, ValidationFailed
from domain.invoice import InvoiceStatus
from tests.unit.use_cases.conftest import SHOPPER, World


async def test_an_open_invoice_can_be_marked_uncollectible_then_voided_and_void_is_final(world: World) -> None:
    view = await world.order()
    invoice = await MarkInvoiceUncollectible(world.uow, world.clock)(view.invoice.id)
    assert invoice.status is InvoiceStatus.UNCOLLECTIBLE
    voided = await VoidInvoice(world.uow, world.clock)(view.invoice.id)
    assert voided.status is InvoiceStatus.VOID
    with pytest.raises(IllegalTransition):
        await MarkInvoiceUncollectible(world.uow, world.clock)(view.invoice.id)
    assert (await GetInvoice(world.uow)(view.invoice.id)).status is InvoiceStatus.VOID


async def test_invoices_are_numbered_uniquely_and_hidden_from_other_shoppers(world: World) -> None:
    first, second = await world.order(), await world.order()
    assert first.invoice.number != second.invoice.number
    assert first.invoice.number.startswith("INV-2026-")
    assert (await GetInvoice(world.uow)(first.invoice.id, customer_reference=SHOPPER.reference)).id == first.invoice.id
    with pytest.raises(NotFound):
        await GetInvoice(world.uow)(first.invoice.id, customer_reference="someone-else")


async def test_gateway_accounts_register_update_and_list_without_losing_credentials(world: World) -> None:
    register = RegisterGatewayAccount(world.uow, world.registry, world.clock, world.ids)
    with pytest.raises(ValidationFailed):
        await register(RegisterGatewayAccountCommand(name="Acme", kind="acmepay", secret_key="sk",
                                                     publishable_key="pk", webhook_secret="whsec"))
    second = await register(RegisterGatewayAccountCommand(name="Backup", kind="sandbox", secret_key="sk_2",
                                                          publishable_key="pk_2", webhook_secret="whsec_2"))
    updated = await UpdateGatewayAccount(world.uow)(UpdateGatewayAccountCommand(second.id, is_active=False,
                                                                                name="Backup (off)"))
    assert (updated.name, updated.is_active) == ("Backup (off)", False)
    assert updated.credentials.webhook_secret.reveal() == "whsec_2"  # untouched fields keep their secrets
    assert [a.id for a in await ListGatewayAccounts(world.uow)(active_only=True)] == [world.account.id]
    assert (await GetGatewayAccount(world.uow)(second.id)).publishable_key == "pk_2"
    with pytest.raises(NotFound):
        await GetGatewayAccount(world.uow)("gw_missing")


async def test_the_event_feed_pages_in_commit_order(world: World) -> None:
    await world.order()
    await world.order()
    first = await ListEvents(world.uow)(after=None, limit=3)
    rest = await ListEvents(world.uow)(after=first.next_cursor, limit=100)
    types = [e.type for e in first.events + rest.events]
    assert types == ["OrderCreated", "InvoiceFinalized"] * 2
    assert first.has_more and not rest.has_more
    assert len({e.id for e in first.events + rest.events}) == 4
