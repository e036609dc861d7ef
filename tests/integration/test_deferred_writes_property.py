"""A unit of work's writes land together or not at all on Postgres, whatever mix of writes it makes: held ones (sent
at commit as one statement, or early when a statement follows them), ones sent at once (an invoice number, which a
unique index guards), several writes of one row (joined into one), and aggregates someone else changed after they
were read (whose writes lose their race).

Hypothesis draws the writes, which aggregates go stale, the kind of unit of work, and where a read forces the held
writes out early; the database must then hold either every value the unit of work wrote (each row's version moved
once per update) or none of them, the other writer's changes standing either way."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.crypto import AeadSecretBox
from adapters.sqlalchemy import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory, create_engine
from domain.errors import ConcurrentUpdate
from domain.invoice import Invoice
from domain.money import Money
from tests.contract import aggregates as make

pytestmark = pytest.mark.postgres

AGGREGATES = ("payment", "order", "invoice")
# What each write sets: (aggregate, field). The invoice's number is guarded by a unique index, so its write is sent
# at once (it may raise DuplicateRecord, which a caller may go on after); the others are held.
HELD = [("payment", "failed_attempts"), ("order", "metadata"), ("invoice", "amount_paid")]
SENT_AT_ONCE = [("invoice", "number")]
THEIR_CHANGE = dict(HELD)  # the field the other writer changes on each aggregate it moves on


@dataclass(frozen=True)
class Plan:
    writes: list[tuple[str, str, int]]  # (aggregate, field, value) in order
    stale: frozenset[str]  # changed by someone else after this unit of work read them, before it wrote
    autocommit: bool
    read_after: int | None  # a read after this write sends the held writes out early (a transaction only)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    autocommit = draw(st.booleans())
    # In an autocommit unit of work a write sent at once commits by itself (its documented promise): the
    # all-or-nothing property is about writes that belong together, so there every write is a held one.
    kinds = HELD if autocommit else HELD + SENT_AT_ONCE
    writes = draw(st.lists(st.tuples(st.sampled_from(kinds), st.integers(1, 10_000)), min_size=1, max_size=6))
    stale = draw(st.frozensets(st.sampled_from(AGGREGATES)))
    read_after = None if autocommit else draw(st.none() | st.integers(0, len(writes) - 1))
    return Plan([(a, f, v) for (a, f), v in writes], stale, autocommit, read_after)


def _set(aggregate: object, field: str, value: int, run: str) -> None:
    if field == "metadata":
        aggregate.metadata = {"n": str(value)}  # type: ignore[attr-defined]
    elif field == "number":
        aggregate.number = f"INV-{run}-{value}"  # type: ignore[attr-defined]
    else:
        setattr(aggregate, field, value)


def _observed(payment: object, order: object, invoice: object) -> dict[str, object]:
    return {"payment": (payment.failed_attempts, payment.version),  # type: ignore[attr-defined]
            "order": (order.metadata, order.version),  # type: ignore[attr-defined]
            "invoice": (invoice.amount_paid, invoice.number, invoice.version)}  # type: ignore[attr-defined]


async def _read_all(unit: SqlAlchemyUnitOfWork, ids: dict[str, str]) -> dict[str, object]:
    payment = await unit.payments.get(ids["payment"])
    found = await unit.orders.get_with_invoice(ids["order"])
    assert payment is not None and found is not None and found[1] is not None
    return {"payment": payment, "order": found[0], "invoice": found[1]}


async def _update(unit: SqlAlchemyUnitOfWork, name: str, aggregate: object) -> None:
    repository = {"payment": unit.payments, "order": unit.orders, "invoice": unit.invoices}[name]
    await repository.update(aggregate)  # type: ignore[attr-defined]


async def _run(url: str, plan: Plan) -> None:
    engine = create_engine(url, pool_size=3, max_overflow=0)
    uow = SqlAlchemyUnitOfWorkFactory(engine, AeadSecretBox([AeadSecretBox.generate_key()]))
    run = uuid.uuid4().hex[:12]
    ids = {"payment": f"pay_{run}", "order": f"ord_{run}", "invoice": f"inv_{run}"}
    try:
        invoice = Invoice.draft(id=ids["invoice"], order_id=ids["order"], number=f"INV-{run}-0",
                                amount_due=Money(7_755, "kwd"), now=make.at(4))
        async with uow() as seed:
            await seed.orders.add(make.order(ids["order"], placed_only=True))
            await seed.invoices.add(invoice)
            await seed.payments.add(make.live_payment(ids["payment"], order_id=ids["order"]))
            await seed.commit()
        async with uow.reader() as reader:
            before = _observed(**await _read_all(reader, ids))

        refused = False
        async with uow.autocommit() if plan.autocommit else uow() as unit:
            mine = await _read_all(unit, ids)
            async with uow() as other:  # someone else moves the stale ones on, after they were read here
                theirs = await _read_all(other, ids)
                for name in sorted(plan.stale):
                    _set(theirs[name], THEIR_CHANGE[name], 99_999, run)
                    await _update(other, name, theirs[name])
                await other.commit()
            try:
                for index, (name, field, value) in enumerate(plan.writes):
                    _set(mine[name], field, value, run)
                    await _update(unit, name, mine[name])
                    if plan.read_after == index:
                        assert await unit.customers.get("cus_nobody") is None
                await unit.commit()
            except ConcurrentUpdate:
                refused = True

        async with uow.reader() as reader:
            after = _observed(**await _read_all(reader, ids))
    finally:
        await engine.dispose()

    written = {name for name, _, _ in plan.writes}
    assert refused == bool(written & plan.stale), (plan, after)
    expected = {}
    for name in AGGREGATES:
        row = _observed(**theirs)[name] if name in plan.stale else before[name]
        if not refused and name in written:
            updates = sum(1 for n, _, _ in plan.writes if n == name)
            row = (*_observed(**mine)[name][:-1], before[name][-1] + updates)  # type: ignore[index]
        expected[name] = row
    assert after == expected, plan


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_a_unit_of_works_writes_land_together_or_not_at_all(postgres_url: str, plan: Plan) -> None:
    asyncio.run(_run(postgres_url, plan))
