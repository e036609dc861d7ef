from __future__ import annotations

import pytest

from application.use_cases.payment_methods import (
    ListPaymentMethods,
    RemovePaymentMethod,
    SavePaymentMethod,
    SavePaymentMethodCommand,
    SetDefaultPaymentMethod,
    Shopper,
)
from domain.errors import CardDeclined, NotFound
from tests.unit.use_cases.conftest import SHOPPER, World

VISA, MASTERCARD, DECLINED = "4242424242424242", "5555555555554444", "4000000000000002"


def save(world: World) -> SavePaymentMethod:
    return SavePaymentMethod(world.uow, world.registry, world.clock, world.ids)


async def test_first_saved_card_is_default_and_attached_to_a_gateway_customer_created_once(world: World) -> None:
    first = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(VISA)))
    second = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(MASTERCARD)))

    assert first.is_default and not second.is_default
    assert (first.card.brand, first.card.last4) == ("visa", "4242")
    async with world.uow() as uow:
        customer = await uow.customers.get_by_reference(SHOPPER.reference)
    assert customer is not None
    gateway_customer = customer.gateway_customer_id(world.account.id)
    assert gateway_customer is not None and gateway_customer.startswith("cus_")
    listed = await ListPaymentMethods(world.uow)(SHOPPER)
    assert [m.id for m in listed] == [first.id, second.id]


async def test_is_default_moves_the_default_and_set_default_moves_it_back(world: World) -> None:
    first = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(VISA)))
    second = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(MASTERCARD),
                                                         is_default=True))
    listed = {m.id: m.is_default for m in await ListPaymentMethods(world.uow)(SHOPPER)}
    assert listed == {first.id: False, second.id: True}

    await SetDefaultPaymentMethod(world.uow, world.registry)(SHOPPER, first.id)
    listed = {m.id: m.is_default for m in await ListPaymentMethods(world.uow)(SHOPPER)}
    assert listed == {first.id: True, second.id: False}


async def test_saving_the_same_card_again_returns_the_saved_one(world: World) -> None:
    pm = world.card(VISA)
    first = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, pm))
    again = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, pm))
    assert again.id == first.id
    assert len(await ListPaymentMethods(world.uow)(SHOPPER)) == 1


async def test_a_card_declined_at_attach_saves_nothing(world: World) -> None:
    with pytest.raises(CardDeclined) as declined:
        await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(DECLINED)))
    assert declined.value.decline_code == "generic_decline"
    assert await ListPaymentMethods(world.uow)(SHOPPER) == []


async def test_removing_the_default_detaches_it_and_promotes_the_newest_other(world: World) -> None:
    first = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(VISA)))
    second = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, world.card(MASTERCARD)))
    await RemovePaymentMethod(world.uow, world.registry, world.clock)(SHOPPER, first.id)

    listed = await ListPaymentMethods(world.uow)(SHOPPER)
    assert [(m.id, m.is_default) for m in listed] == [(second.id, True)]

    # Detached at the gateway, so saving the same card again attaches it anew and revives the record.
    revived = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, first.gateway_payment_method_id))
    assert revived.id == first.id and not revived.detached and not revived.is_default


async def test_another_customers_card_is_not_found_and_cannot_be_claimed(world: World) -> None:
    pm = world.card(VISA)
    mine = await save(world)(SavePaymentMethodCommand(SHOPPER, world.account.id, pm))
    stranger = Shopper(reference="someone-else")
    with pytest.raises(NotFound):
        await SetDefaultPaymentMethod(world.uow, world.registry)(stranger, mine.id)
    with pytest.raises(NotFound):
        await RemovePaymentMethod(world.uow, world.registry, world.clock)(stranger, mine.id)
    with pytest.raises(NotFound):  # exactly as a card never seen: another customer's is not acknowledged
        await save(world)(SavePaymentMethodCommand(stranger, world.account.id, pm))
    assert [m.id for m in await ListPaymentMethods(world.uow)(SHOPPER)] == [mine.id]
