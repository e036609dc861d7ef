"""The repository and unit-of-work contract (application/ports), proven on every store: memory, SQLite, Postgres.

The memory store is what unit tests run on, so whatever it lets through that the database refuses (or the other
way round) is a bug this suite must catch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC
from typing import TYPE_CHECKING

import pytest

from application.ports.repositories import IdempotencyRecord, InboxEntry, Page
from domain.errors import ConcurrentUpdate, DuplicateRecord, NotFound
from domain.events import OrderCanceled, PaymentCreated
from domain.invoice import InvoiceStatus
from domain.payment import PaymentStatus
from domain.refund import RefundStatus
from tests.contract import aggregates as make
from tests.contract.aggregates import SECRET_KEY, WEBHOOK_SECRET, at

if TYPE_CHECKING:
    from tests.contract.stores import StoreUnderTest

pytest_plugins = ["tests.contract.stores"]


async def seed(store: StoreUnderTest, *items: object) -> None:
    """Commit aggregates in one unit of work, each through its repository."""
    async with store.uow() as uow:
        for item in items:
            await repository_of(uow, item).add(item)
        await uow.commit()


def repository_of(uow, item):  # type: ignore[no-untyped-def]
    return {
        "GatewayAccount": uow.gateway_accounts, "Customer": uow.customers, "PaymentMethod": uow.payment_methods,
        "Order": uow.orders, "Invoice": uow.invoices, "Payment": uow.payments,
    }[type(item).__name__]


def every_aggregate():  # type: ignore[no-untyped-def]
    return [
        make.gateway_account(),
        make.customer(**{"gwa_1": "cus_gw_1"}),
        make.payment_method(),
        make.order(),
        make.invoice(),
        make.payment(),
    ]


# ---- commit, rollback, round trips -------------------------------------------------------------------------
async def test_every_aggregate_round_trips_with_all_its_fields(store: StoreUnderTest) -> None:
    originals = every_aggregate()
    await seed(store, *originals)
    async with store.uow() as uow:
        loaded = [await repository_of(uow, item).get(item.id) for item in originals]
    assert loaded == originals
    payment = loaded[-1]
    assert [r.status for r in payment.refunds] == [RefundStatus.SUCCEEDED, RefundStatus.PENDING]
    assert payment.disputes[0].reason == "fraudulent"
    assert payment.next_action.url == "https://hooks.example/3ds?x=1"
    assert payment.last_payment_error.decline_code == "insufficient_funds"
    assert loaded[3].lines[0].unit_amount.currency == "kwd" and loaded[3].total.amount == 7_755
    assert loaded[0].credentials.secret_key.reveal() == SECRET_KEY
    assert loaded[0].credentials.webhook_secret.reveal() == WEBHOOK_SECRET


async def test_a_reader_loads_every_aggregate_as_a_transaction_does(store: StoreUnderTest) -> None:
    """uow.reader(): no transaction spans its reads on Postgres, but an aggregate of several statements (a payment
    with refunds and a dispute, an order with lines) still comes from one snapshot, whole."""
    originals = every_aggregate()
    await seed(store, *originals)
    async with store.uow.reader() as reader:
        loaded = [await repository_of(reader, item).get(item.id) for item in originals]
        listed = await reader.orders.list_for_customer("cus_1")
        methods = await reader.payment_methods.list_for_customer("cus_1")
    assert loaded == originals
    assert listed == [originals[3]] and methods == [originals[2]]


async def test_nothing_a_reader_does_is_ever_written(store: StoreUnderTest) -> None:
    with pytest.raises(RuntimeError, match="reader"):
        async with store.uow.reader() as reader:
            with contextlib.suppress(RuntimeError):  # Postgres refuses the write itself; elsewhere, the commit
                await reader.customers.add(make.customer())
            await reader.commit()
    async with store.uow() as uow:
        assert await uow.customers.get("cus_1") is None


async def test_timestamps_come_back_timezone_aware_in_utc(store: StoreUnderTest) -> None:
    await seed(store, *every_aggregate())
    async with store.uow() as uow:
        payment = await uow.payments.get("pay_1")
        order = await uow.orders.get("ord_1")
    stamps = [payment.created_at, payment.updated_at, payment.observed_at, payment.refunds[0].observed_at,
              payment.disputes[0].opened_at, order.created_at]
    assert all(s.tzinfo is not None and s.utcoffset().total_seconds() == 0 for s in stamps)
    assert payment.created_at == at(5)


async def test_leaving_without_commit_discards_the_work(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        await uow.gateway_accounts.add(make.gateway_account())
    async with store.uow() as uow:
        assert await uow.gateway_accounts.get("gwa_1") is None


async def test_an_exception_rolls_back(store: StoreUnderTest) -> None:
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.customers.add(make.customer())
            raise RuntimeError("boom")
    async with store.uow() as uow:
        assert await uow.customers.get("cus_1") is None


async def test_rollback_discards_and_the_unit_goes_on(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        await uow.customers.add(make.customer())
        await uow.rollback()
        await uow.customers.add(make.customer("cus_2", "user-2"))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.customers.get("cus_1") is None
        assert (await uow.customers.get("cus_2")).reference == "user-2"


async def test_reads_return_private_copies(store: StoreUnderTest) -> None:
    await seed(store, make.customer())
    async with store.uow() as uow:
        first = await uow.customers.get("cus_1")
        first.email = "changed@example.com"
        again = await uow.customers.get("cus_1")
    assert again.email == "user-1@example.com"


# ---- uniqueness ------------------------------------------------------------------------------------------------
def _with_status(payment, status):  # type: ignore[no-untyped-def]
    payment.status = status
    return payment


DUPLICATES = {
    "same id": ([make.customer()], make.customer(reference="user-9")),
    "customer reference": ([make.customer()], make.customer("cus_2")),
    "gateway customer id": ([make.customer(gwa_1="cus_gw_1")], make.customer("cus_2", "user-2", gwa_1="cus_gw_1")),
    "gateway payment method id": ([make.payment_method()], make.payment_method("pm_2", is_default=False)),
    "second default method": ([make.payment_method()], make.payment_method("pm_2", gateway_id="pm_gw_2")),
    "invoice number": ([make.invoice()], make.invoice("inv_2", order_id="ord_2")),
    "second invoice for an order": ([make.invoice()], make.invoice("inv_2", number="INV-2026-000002")),
    "second live payment": (
        [make.live_payment("pay_1")], make.live_payment("pay_2")),
    "gateway payment id": (
        [make.payment()],
        make.payment("pay_2", order_id="ord_2", refund_gateway_id="re_2", dispute_gateway_id="dp_2")),
    "gateway refund id": (
        [make.payment()], make.payment("pay_2", order_id="ord_2", gateway_id="pi_2", dispute_gateway_id="dp_2")),
    "gateway dispute id": (
        [make.payment()], make.payment("pay_2", order_id="ord_2", gateway_id="pi_2", refund_gateway_id="re_2")),
}


@pytest.mark.parametrize("case", list(DUPLICATES))
async def test_add_of_a_duplicate_raises_duplicate_record(store: StoreUnderTest, case: str) -> None:
    existing, duplicate = DUPLICATES[case]
    await seed(store, *existing)
    async with store.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await repository_of(uow, duplicate).add(duplicate)


ALLOWED = {
    "same gateway method id at another account": (
        [make.payment_method()], make.payment_method("pm_2", account_id="gwa_2", is_default=False)),
    "a default at another account": (
        [make.payment_method()], make.payment_method("pm_2", account_id="gwa_2", gateway_id="pm_gw_2")),
    "a default beside a removed one": (
        [make.payment_method(detached=True, is_default=False)], make.payment_method("pm_2", gateway_id="pm_gw_2")),
    "a second live payment at another account": ([make.live_payment("pay_1")],
                                                 make.live_payment("pay_2", account_id="gwa_2")),
    "a live payment beside a canceled one": (
        [_with_status(make.live_payment("pay_1"), PaymentStatus.CANCELED)], make.live_payment("pay_2")),
    "a live payment beside a succeeded one": (
        [_with_status(make.live_payment("pay_1"), PaymentStatus.SUCCEEDED)], make.live_payment("pay_2")),
    "the same gateway payment id at another account": (
        [make.payment()], make.payment("pay_2", order_id="ord_2", account_id="gwa_2")),
}


@pytest.mark.parametrize("case", list(ALLOWED))
async def test_what_is_not_a_duplicate_is_stored(store: StoreUnderTest, case: str) -> None:
    existing, other = ALLOWED[case]
    await seed(store, *existing)
    await seed(store, other)
    async with store.uow() as uow:
        assert await repository_of(uow, other).get(other.id) == other


async def test_a_duplicate_leaves_the_unit_of_work_usable(store: StoreUnderTest) -> None:
    await seed(store, make.customer())
    async with store.uow() as uow:
        with pytest.raises(DuplicateRecord):
            await uow.customers.add(make.customer("cus_2"))
        await uow.customers.add(make.customer("cus_3", "user-3"))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.customers.get("cus_3") is not None
        assert await uow.customers.get("cus_2") is None


async def test_a_duplicate_after_other_work_loses_only_itself(store: StoreUnderTest) -> None:
    """The duplicate above is the transaction's first work (rolled back whole on Postgres); here work comes
    before it, and survives it (a savepoint)."""
    await seed(store, make.customer())
    async with store.uow() as uow:
        await uow.customers.add(make.customer("cus_4", "user-4"))
        with pytest.raises(DuplicateRecord):
            await uow.customers.add(make.customer("cus_2"))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.customers.get("cus_4") is not None
        assert await uow.customers.get("cus_2") is None


async def test_update_into_a_duplicate_raises_duplicate_record(store: StoreUnderTest) -> None:
    await seed(store, make.payment(), make.live_payment("pay_2", order_id="ord_2"))
    async with store.uow() as uow:
        other = await uow.payments.get("pay_2")
        other.link_gateway_intent("pi_1", None, at(20))
        with pytest.raises(DuplicateRecord):
            await uow.payments.update(other)


async def test_moving_the_default_keeps_one_default(store: StoreUnderTest) -> None:
    await seed(store, make.payment_method(), make.payment_method("pm_2", gateway_id="pm_gw_2", is_default=False))
    async with store.uow() as uow:
        old, new = await uow.payment_methods.get("pm_1"), await uow.payment_methods.get("pm_2")
        new.make_default()
        with pytest.raises(DuplicateRecord):
            await uow.payment_methods.update(new)
    async with store.uow() as uow:
        old, new = await uow.payment_methods.get("pm_1"), await uow.payment_methods.get("pm_2")
        old.clear_default()
        new.make_default()
        await uow.payment_methods.update(old)
        await uow.payment_methods.update(new)
        await uow.commit()
    async with store.uow() as uow:
        assert [m.is_default for m in await uow.payment_methods.list_for_customer("cus_1")] == [False, True]


# ---- optimistic versions -------------------------------------------------------------------------------------
async def test_update_bumps_the_version(store: StoreUnderTest) -> None:
    await seed(store, make.payment())
    async with store.uow() as uow:
        payment = await uow.payments.get("pay_1")
        await uow.payments.update(payment)
        assert payment.version == 1
        await uow.payments.update(payment)
        assert payment.version == 2
        await uow.commit()
    async with store.uow() as uow:
        assert (await uow.payments.get("pay_1")).version == 2


KINDS = {"payment": make.payment, "order": make.order, "invoice": make.invoice, "customer": make.customer,
         "payment_method": make.payment_method, "gateway_account": make.gateway_account}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_stale_update_raises_concurrent_update(store: StoreUnderTest, kind: str) -> None:
    item = KINDS[kind]()
    await seed(store, item)
    async with store.uow() as uow:
        stale = await repository_of(uow, item).get(item.id)
    async with store.uow() as uow:
        fresh = await repository_of(uow, item).get(item.id)
        await repository_of(uow, fresh).update(fresh)
        await uow.commit()
    async with store.uow() as uow:
        with pytest.raises(ConcurrentUpdate):  # from update() or, where the store holds the write, commit()
            await repository_of(uow, stale).update(stale)
            await uow.commit()
    async with store.uow() as uow:
        assert (await repository_of(uow, item).get(item.id)).version == 1


async def test_updating_a_missing_row_raises_concurrent_update(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.orders.update(make.order())
            await uow.commit()
    async with store.uow() as uow:
        assert await uow.orders.get(make.order().id) is None


async def test_a_stale_write_among_several_leaves_nothing_of_the_unit_of_work(store: StoreUnderTest) -> None:
    """A settlement's writes succeed or fail together: one that lost its race (the order, changed by someone else
    since it was read) undoes the payment's write before it and stores no event, whether it is refused at update()
    or, where the store holds the writes until commit, at commit() (Postgres: one statement that fails whole)."""
    await seed(store, make.live_payment("pay_1"), make.order(placed_only=True))
    async with store.uow.reader() as reader:
        stale_order = await reader.orders.get(make.order().id)
    async with store.uow() as uow:
        fresh = await uow.orders.get(stale_order.id)
        fresh.metadata = {"note": "changed meanwhile"}
        await uow.orders.update(fresh)
        await uow.commit()
        before = await uow.events.list_after(None, 100)
    async with store.uow() as uow:
        payment = await uow.payments.get_for_update("pay_1")
        version = payment.version
        payment.failed_attempts = 3
        await uow.payments.update(payment)
        stale_order.cancel(at(40))
        with pytest.raises(ConcurrentUpdate):
            await uow.orders.update(stale_order)
            await uow.commit()
    async with store.uow.reader() as reader:
        payment = await reader.payments.get("pay_1")
        order = await reader.orders.get(stale_order.id)
        after = await reader.events.list_after(None, 100)
    assert payment.failed_attempts == 0 and payment.version == version
    assert order.metadata == {"note": "changed meanwhile"} and order.status is not stale_order.status
    assert [e.id for e in after] == [e.id for e in before]  # no OrderCanceled


# ---- outbox ----------------------------------------------------------------------------------------------------
async def test_commit_writes_the_new_events_to_the_outbox_in_order(store: StoreUnderTest) -> None:
    payment, order = make.live_payment("pay_1"), make.order(placed_only=True)
    order.events.clear()
    async with store.uow() as uow:
        await uow.payments.add(payment)
        order.cancel(at(30))
        await uow.orders.add(order)
        await uow.commit()
        assert payment.events == [] and order.events == []  # drained
    async with store.uow() as uow:
        stored = await uow.events.list_after(None, 10)
    assert [e.type for e in stored] == ["PaymentCreated", "OrderCanceled"]
    assert stored[0].data == PaymentCreated(occurred_at=at(5), payment_id="pay_1", order_id="ord_1",
                                            amount=7_755, currency="kwd").data()
    assert stored[1].occurred_at == at(30) and stored[1].data == OrderCanceled(occurred_at=at(30),
                                                                               order_id="ord_1").data()
    assert stored[0].occurred_at.tzinfo is not None


async def test_the_outbox_keeps_commit_order_and_pages_by_cursor(store: StoreUnderTest) -> None:
    for n in range(5):
        await seed(store, make.live_payment(f"pay_{n}", order_id=f"ord_{n}"))
    async with store.uow() as uow:
        first = await uow.events.list_after(None, 2)
        rest = await uow.events.list_after(first[-1].id, 10)
        none_left = await uow.events.list_after(rest[-1].id, 10)
    assert [e.data["payment_id"] for e in first + rest] == [f"pay_{n}" for n in range(5)]
    assert len(first) == 2 and none_left == []


async def test_no_event_is_stored_without_commit(store: StoreUnderTest) -> None:
    payment = make.live_payment("pay_1")
    async with store.uow() as uow:
        await uow.payments.add(payment)
    async with store.uow() as uow:
        assert await uow.events.list_after(None, 10) == []


async def test_children_events_are_drained_with_their_payment(store: StoreUnderTest) -> None:
    payment = make.live_payment("pay_1")
    payment.status = PaymentStatus.SUCCEEDED
    payment.amount_received = payment.amount
    await seed(store, payment)
    async with store.uow() as uow:
        loaded = await uow.payments.get("pay_1")
        loaded.request_refund(refund_id="rfd_9", amount=100, reason=None, now=at(40))
        await uow.payments.update(loaded)
        await uow.commit()
        assert loaded.events == []
    async with store.uow() as uow:
        types = [e.type for e in await uow.events.list_after(None, 10)]
        assert (await uow.payments.get("pay_1")).refunds[0].id == "rfd_9"
    assert types == ["PaymentCreated", "RefundCreated"]


# ---- webhook inbox ---------------------------------------------------------------------------------------------
def _entry(event_id: str = "evt_1") -> InboxEntry:
    return InboxEntry(gateway_account_id="gwa_1", event_id=event_id, type="payment_intent.succeeded",
                      received_at=at(50))


async def test_an_outcome_for_an_event_never_received_is_not_found(store: StoreUnderTest) -> None:
    """From set_outcome() or, where the store holds the write until then, commit(); nothing is stored."""
    async with store.uow() as uow:
        with pytest.raises(NotFound, match="evt_9"):
            await uow.webhook_inbox.set_outcome("gwa_1", "evt_9", "applied", "pay_1")
            await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_inbox.get("gwa_1", "evt_9") is None


async def test_the_inbox_records_an_event_once(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        assert await uow.webhook_inbox.record(_entry()) is True
        assert await uow.webhook_inbox.record(_entry()) is False
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_inbox.record(_entry()) is False
        assert await uow.webhook_inbox.record(_entry("evt_2")) is True
        await uow.webhook_inbox.set_outcome("gwa_1", "evt_1", "applied", "pay_1")
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_inbox.get("gwa_1", "evt_1") == dataclasses.replace(
            _entry(), outcome="applied", payment_id="pay_1")
        assert await uow.webhook_inbox.get("gwa_1", "evt_9") is None


async def test_an_uncommitted_inbox_record_is_forgotten(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        assert await uow.webhook_inbox.record(_entry()) is True
    async with store.uow() as uow:
        assert await uow.webhook_inbox.record(_entry()) is True


async def test_concurrent_deliveries_of_one_event_record_it_once(store: StoreUnderTest) -> None:
    async def deliver() -> bool:
        async with store.uow() as uow:
            first = await uow.webhook_inbox.record(_entry())
            await asyncio.sleep(0.01)  # hold the transaction open while the others try
            await uow.commit()
            return first

    results = await asyncio.gather(*(deliver() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_a_claim_answers_a_duplicate_with_the_first_deliverys_outcome(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        assert await uow.webhook_inbox.claim(_entry()) == (True, None)
        assert await uow.webhook_inbox.claim(_entry()) == (False, None)  # stored, not settled yet
        await uow.webhook_inbox.set_outcome("gwa_1", "evt_1", "applied", "pay_1")
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_inbox.claim(_entry()) == (False, "applied")
        assert await uow.webhook_inbox.claim(_entry("evt_2")) == (True, None)
    async with store.uow() as uow:  # evt_2's claim was rolled back with its transaction
        assert await uow.webhook_inbox.get("gwa_1", "evt_2") is None


async def test_a_duplicate_claimed_while_the_first_delivery_settles_gets_its_outcome(store: StoreUnderTest) -> None:
    """The duplicate's claim waits for the first delivery's transaction; when that commits, the duplicate must still
    find the outcome it stored (on Postgres: committed after the duplicate's statement took its snapshot)."""
    first_claimed = asyncio.Event()

    async def first() -> tuple[bool, str | None]:
        async with store.uow() as uow:
            claimed = await uow.webhook_inbox.claim(_entry())
            first_claimed.set()
            await asyncio.sleep(0.2)  # the duplicate's claim is waiting on this transaction meanwhile
            await uow.webhook_inbox.set_outcome("gwa_1", "evt_1", "applied", "pay_1")
            await uow.commit()
            return claimed

    async def duplicate() -> tuple[bool, str | None]:
        await first_claimed.wait()
        async with store.uow() as uow:
            return await uow.webhook_inbox.claim(_entry())

    assert await asyncio.gather(first(), duplicate()) == [(True, None), (False, "applied")]


# ---- idempotency records ---------------------------------------------------------------------------------------
def _claim(key: str = "key-1", caller: str = "shop", created: float = 60) -> IdempotencyRecord:
    return IdempotencyRecord(caller=caller, key=key, fingerprint="sha256:abc", created_at=at(created))


async def test_idempotency_claim_complete_and_replay(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        assert await uow.idempotency.claim(_claim()) is None
        await uow.commit()
    async with store.uow() as uow:
        in_flight = await uow.idempotency.claim(_claim())
        assert in_flight == _claim()
        assert await uow.idempotency.claim(_claim(caller="other-shop")) is None
        await uow.idempotency.complete("shop", "key-1", 201, b'{"id":"pay_1"}', {"content-type": "application/json"})
        await uow.commit()
    async with store.uow() as uow:
        replay = await uow.idempotency.claim(_claim())
    assert replay is not None
    assert (replay.status_code, replay.response_body, replay.response_headers) == (
        201, b'{"id":"pay_1"}', {"content-type": "application/json"})
    assert replay.created_at == at(60) and replay.fingerprint == "sha256:abc"


async def test_a_released_claim_can_be_claimed_again(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        await uow.idempotency.claim(_claim())
        await uow.commit()
    async with store.uow() as uow:
        await uow.idempotency.release("shop", "key-1")
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.idempotency.claim(_claim()) is None


async def test_old_idempotency_records_are_purged(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        for n in range(3):
            await uow.idempotency.claim(_claim(f"key-{n}", created=n * 100))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.idempotency.purge_older_than(at(150)) == 2
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.idempotency.claim(_claim("key-0")) is None
        assert await uow.idempotency.claim(_claim("key-2")) is not None


async def test_concurrent_claims_of_one_key_leave_one_winner(store: StoreUnderTest) -> None:
    async def claim() -> IdempotencyRecord | None:
        async with store.uow() as uow:
            found = await uow.idempotency.claim(_claim())
            await asyncio.sleep(0.01)
            await uow.commit()
            return found

    results = await asyncio.gather(*(claim() for _ in range(5)))
    assert sum(r is None for r in results) == 1


# ---- invoice sequence ------------------------------------------------------------------------------------------
async def test_invoice_sequence_is_gapless_per_year(store: StoreUnderTest) -> None:
    async with store.uow() as uow:
        assert [await uow.invoices.next_sequence(2026) for _ in range(2)] == [1, 2]
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.invoices.next_sequence(2026) == 3
    async with store.uow() as uow:  # the rolled back number is handed out again
        assert await uow.invoices.next_sequence(2026) == 3
        assert await uow.invoices.next_sequence(2027) == 1
        await uow.commit()


async def test_concurrent_invoice_numbers_are_distinct_and_gapless(store: StoreUnderTest) -> None:
    async def number() -> int:
        async with store.uow() as uow:
            sequence = await uow.invoices.next_sequence(2026)
            await asyncio.sleep(0.005)
            await uow.commit()
            return sequence

    assert sorted(await asyncio.gather(*(number() for _ in range(6)))) == [1, 2, 3, 4, 5, 6]


# ---- queries ---------------------------------------------------------------------------------------------------
async def test_customer_by_reference(store: StoreUnderTest) -> None:
    await seed(store, make.customer(), make.customer("cus_2", "user-2"))
    async with store.uow() as uow:
        assert (await uow.customers.get_by_reference("user-2")).id == "cus_2"
        assert await uow.customers.get_by_reference("nobody") is None


async def test_the_id_of_a_reference_is_only_ever_a_committed_customers(store: StoreUnderTest) -> None:
    """id_of() may be remembered for the process's life (a reference's customer never changes): a customer this unit
    of work added is seen by it, but never outlives its rollback; a committed one is found by every reader after."""
    async with store.uow() as uow:
        assert await uow.customers.id_of("user-1") is None
        await uow.customers.add(make.customer())
        assert await uow.customers.id_of("user-1") == "cus_1"  # its own insert
        assert (await uow.customers.get_by_reference("user-1")).id == "cus_1"
    async with store.uow.reader() as reader:
        assert await reader.customers.id_of("user-1") is None  # rolled back: not remembered
    await seed(store, make.customer("cus_7", "user-1"))
    for _ in range(2):  # the second time, from memory where the adapter keeps one
        async with store.uow.reader() as reader:
            assert await reader.customers.id_of("user-1") == "cus_7"
            assert await reader.customers.id_of("nobody") is None


async def test_linking_a_gateway_customer_round_trips(store: StoreUnderTest) -> None:
    await seed(store, make.customer())
    async with store.uow() as uow:
        customer = await uow.customers.get("cus_1")
        customer.link_gateway_customer("gwa_2", "cus_gw_2")
        customer.email = None
        await uow.customers.update(customer)
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.customers.get("cus_1") == customer


async def test_gateway_accounts_list_in_creation_order(store: StoreUnderTest) -> None:
    await seed(store, make.gateway_account("gwa_b", active=False), make.gateway_account("gwa_a"))
    async with store.uow() as uow:
        assert [a.id for a in await uow.gateway_accounts.list()] == ["gwa_a", "gwa_b"]
        assert [a.id for a in await uow.gateway_accounts.list(active_only=True)] == ["gwa_a"]
        account = await uow.gateway_accounts.get("gwa_b")
        account.is_active = True
        await uow.gateway_accounts.update(account)
        await uow.commit()
    async with store.uow() as uow:
        assert len(await uow.gateway_accounts.list(active_only=True)) == 2


async def test_saved_methods_oldest_first_without_removed_ones(store: StoreUnderTest) -> None:
    await seed(
        store,
        make.payment_method("pm_3", gateway_id="g3", is_default=False, created=30),
        make.payment_method("pm_1", gateway_id="g1", created=10),
        make.payment_method("pm_2", gateway_id="g2", is_default=False, created=20),
        make.payment_method("pm_4", gateway_id="g4", is_default=False, detached=True, created=40),
        make.payment_method("pm_5", customer_id="cus_2", gateway_id="g5", created=5),
    )
    async with store.uow() as uow:
        assert [m.id for m in await uow.payment_methods.list_for_customer("cus_1")] == ["pm_1", "pm_2", "pm_3"]
        page = await uow.payment_methods.list_for_customer("cus_1", Page(limit=1, starting_after="pm_1"))
        assert [m.id for m in page] == ["pm_2"]
        removed = await uow.payment_methods.find_by_gateway_id("gwa_1", "g4")
        assert removed is not None and removed.detached
        assert await uow.payment_methods.find_by_gateway_id("gwa_2", "g4") is None


async def test_orders_newest_first(store: StoreUnderTest) -> None:
    await seed(store, make.order("ord_1", created=1), make.order("ord_3", created=3), make.order("ord_2", created=2),
               make.order("ord_x", customer_id="cus_2"))
    async with store.uow() as uow:
        assert [o.id for o in await uow.orders.list_for_customer("cus_1")] == ["ord_3", "ord_2", "ord_1"]
        page = await uow.orders.list_for_customer("cus_1", Page(limit=5, starting_after="ord_3"))
        assert [o.id for o in page] == ["ord_2", "ord_1"]
        assert (await uow.orders.get_for_update("ord_2")).id == "ord_2"
        assert await uow.orders.get_for_update("ord_9") is None


async def test_invoice_for_order(store: StoreUnderTest) -> None:
    await seed(store, make.invoice())
    async with store.uow() as uow:
        assert (await uow.invoices.get_for_order("ord_1")).status is InvoiceStatus.PAID
        assert await uow.invoices.get_for_order("ord_2") is None


async def test_the_invoices_of_several_orders_read_as_each_alone_and_save_as_read(store: StoreUnderTest) -> None:
    await seed(store, make.order("ord_1"), make.invoice("inv_1", order_id="ord_1"),
               make.order("ord_2", created=4), make.order("ord_3", created=5),
               make.invoice("inv_3", order_id="ord_3", number="INV-2026-000003"))
    async with store.uow() as uow:
        found = await uow.invoices.list_for_orders(["ord_1", "ord_2", "ord_3", "ord_9"])
        assert found == {"ord_1": await uow.invoices.get_for_order("ord_1"),
                         "ord_3": await uow.invoices.get_for_order("ord_3")}
        assert await uow.invoices.list_for_orders([]) == {}
    async with store.uow() as uow:  # what it read is what the next write is compared with
        invoice = (await uow.invoices.list_for_orders(["ord_3"]))["ord_3"]
        invoice.status = InvoiceStatus.VOID
        await uow.invoices.update(invoice)
        await uow.commit()
    async with store.uow() as uow:
        assert (await uow.invoices.get("inv_3")).status is InvoiceStatus.VOID


async def test_an_order_with_its_invoice_reads_as_each_alone_and_saves_as_read(store: StoreUnderTest) -> None:
    await seed(store, make.order("ord_1"), make.invoice(order_id="ord_1"), make.order("ord_2", created=4))
    async with store.uow() as uow:
        found = await uow.orders.get_with_invoice("ord_1")
        assert found is not None
        order, invoice = found
        assert (order, invoice) == (await uow.orders.get("ord_1"), await uow.invoices.get_for_order("ord_1"))
        assert invoice is not None and len(order.lines) == 2 and invoice.status is InvoiceStatus.PAID
        assert await uow.orders.get_with_invoice("ord_2") == (await uow.orders.get("ord_2"), None)
        assert await uow.orders.get_with_invoice("ord_9") is None
    async with store.uow() as uow:  # what it read is what the next write is compared with
        found = await uow.orders.get_with_invoice("ord_1")
        assert found is not None and found[1] is not None
        order, invoice = found
        invoice.amount_paid = 7_000
        await uow.invoices.update(invoice)
        await uow.orders.update(order)
        await uow.commit()
    async with store.uow() as uow:
        again = await uow.orders.get_with_invoice("ord_1")
    assert again is not None and again[1] is not None
    assert (again[0].version, again[1].version, again[1].amount_paid) == (order.version, invoice.version, 7_000)
    assert again[0].lines == order.lines


async def test_payment_lookups(store: StoreUnderTest) -> None:
    done = make.payment("pay_0", gateway_id="pi_0", refund_gateway_id="re_0", dispute_gateway_id="dp_0",
                        status=PaymentStatus.CANCELED)
    live = make.payment("pay_1")
    elsewhere = make.live_payment("pay_2", order_id="ord_2")
    await seed(store, done, live, elsewhere)
    async with store.uow() as uow:
        assert (await uow.payments.find_by_gateway_id("gwa_1", "pi_1")).id == "pay_1"
        assert (await uow.payments.find_by_gateway_id("gwa_1", "pi_1", for_update=True)).id == "pay_1"
        assert await uow.payments.find_by_gateway_id("gwa_2", "pi_1") is None
        assert (await uow.payments.find_by_gateway_refund_id("gwa_1", "re_0")).id == "pay_0"
        assert await uow.payments.find_by_gateway_refund_id("gwa_2", "re_0") is None
        assert (await uow.payments.find_live("ord_1", "gwa_1")).id == "pay_1"
        assert await uow.payments.find_live("ord_1", "gwa_2") is None
        assert [p.id for p in await uow.payments.list_for_order("ord_1")] == ["pay_0", "pay_1"]
        assert (await uow.payments.get_for_update("pay_1")) == live
        assert await uow.payments.get_for_update("pay_9") is None


async def test_unsettled_payments_are_the_old_non_final_ones(store: StoreUnderTest) -> None:
    live_old = make.live_payment("pay_1", order_id="ord_1")
    live_new = make.live_payment("pay_2", order_id="ord_2")
    live_new.updated_at = at(500)
    succeeded_with_pending_refund = make.payment("pay_3", order_id="ord_3", gateway_id="pi_3",
                                                 refund_gateway_id="re_3", dispute_gateway_id="dp_3",
                                                 status=PaymentStatus.SUCCEEDED)
    settled = make.live_payment("pay_4", order_id="ord_4")
    settled.status = PaymentStatus.CANCELED
    await seed(store, live_old, live_new, succeeded_with_pending_refund, settled)
    async with store.uow() as uow:
        found = await uow.payments.list_unsettled(updated_before=at(100), limit=10)
        assert sorted(p.id for p in found) == ["pay_1", "pay_3"]
        assert len(await uow.payments.list_unsettled(updated_before=at(100), limit=1)) == 1


async def test_payment_with_refund_and_dispute_changes_round_trip(store: StoreUnderTest) -> None:
    await seed(store, make.payment())
    async with store.uow() as uow:
        payment = await uow.payments.get("pay_1")
        payment.refunds[1].status = RefundStatus.FAILED
        payment.refunds[1].gateway_refund_id = "re_late"
        payment.refunds.append(dataclasses.replace(payment.refunds[0], id="rfd_3", gateway_refund_id=None))
        payment.disputes[0].status = "lost"
        payment.next_action = None
        payment.last_payment_error = None
        await uow.payments.update(payment)
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.payments.get("pay_1") == payment
        assert (await uow.payments.find_by_gateway_refund_id("gwa_1", "re_late")).id == "pay_1"


async def test_an_adopted_payment_is_updated_as_if_it_had_been_read_there(store: StoreUnderTest) -> None:
    """adopt(): a payment read by an earlier unit of work, taken into a later one without reading it again. Its
    children stay as they are when they did not change, a new one lands, and the version goes on from its own."""
    await seed(store, make.payment(), make.live_payment("pay_2", order_id="ord_2"))
    async with store.uow.reader() as reader:
        with_children, without = await reader.payments.get("pay_1"), await reader.payments.get("pay_2")
    async with store.uow() as uow:
        uow.payments.adopt(with_children)
        uow.payments.adopt(without)
        read_at = with_children.version
        with_children.failed_attempts += 1
        without.refunds.append(dataclasses.replace(with_children.refunds[0], id="rfd_new", payment_id="pay_2",
                                                   gateway_refund_id="re_new"))
        await uow.payments.update(with_children)
        await uow.payments.update(without)
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.payments.get("pay_1") == with_children and with_children.version == read_at + 1
        assert len(with_children.refunds) == 2 and len(with_children.disputes) == 1
        assert await uow.payments.get("pay_2") == without
        assert (await uow.payments.get_for_update("pay_2")).refunds == without.refunds  # found under lock too


async def test_an_adopted_payment_someone_else_changed_meanwhile_is_refused(store: StoreUnderTest) -> None:
    await seed(store, make.live_payment("pay_1"))
    async with store.uow.reader() as reader:
        stale = await reader.payments.get("pay_1")
    async with store.uow() as uow:
        fresh = await uow.payments.get_for_update("pay_1")
        fresh.failed_attempts = 5
        await uow.payments.update(fresh)
        await uow.commit()
    async with store.uow() as uow:
        uow.payments.adopt(stale)
        stale.failed_attempts = 1
        with pytest.raises(ConcurrentUpdate):
            await uow.payments.update(stale)
            await uow.commit()
    async with store.uow() as uow:
        assert (await uow.payments.get("pay_1")).failed_attempts == 5


# ---- concurrency every store must get right ------------------------------------------------------------------
async def test_settlements_under_lock_serialise(store: StoreUnderTest) -> None:
    """Two read-modify-writes of one payment under get_for_update: both land, none is lost."""
    await seed(store, make.live_payment("pay_1"))

    async def settle(step: int) -> None:
        async with store.uow() as uow:
            payment = await uow.payments.get_for_update("pay_1")
            await asyncio.sleep(0.01)
            payment.failed_attempts += step
            await uow.payments.update(payment)
            await uow.commit()

    await asyncio.gather(settle(1), settle(10))
    async with store.uow() as uow:
        payment = await uow.payments.get("pay_1")
    assert (payment.failed_attempts, payment.version) == (11, 2)


async def test_concurrent_openings_leave_one_live_payment(store: StoreUnderTest) -> None:
    async def open_payment(n: int) -> bool:
        async with store.uow() as uow:
            try:
                await uow.payments.add(make.live_payment(f"pay_{n}"))
            except DuplicateRecord:
                return False
            await asyncio.sleep(0.005)
            await uow.commit()
            return True

    results = await asyncio.gather(*(open_payment(n) for n in range(8)))
    assert sum(results) == 1
    async with store.uow() as uow:
        assert len(await uow.payments.list_for_order("ord_1")) == 1


async def test_credentials_never_reach_a_row_in_clear(store: StoreUnderTest) -> None:
    await seed(store, make.gateway_account())
    if store.raw_rows is None:  # memory keeps objects, not rows: nothing is written anywhere
        assert store.name == "memory"
        return
    rows = " ".join(await store.raw_rows("gateway_accounts"))
    assert "pk_test_gwa_1" in rows  # the dump does show the row
    assert SECRET_KEY not in rows and WEBHOOK_SECRET not in rows


def test_utc_is_what_the_fixtures_use() -> None:
    assert at(0).tzinfo is UTC
