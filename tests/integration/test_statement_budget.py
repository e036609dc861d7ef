"""The round trips a payment's busy requests make to Postgres, statement by statement: each is a cost every
request pays (a network round trip, Postgres's CPU, Python's), so the list is pinned here and a change that adds
one must say why in this file. The guarantees behind each: DESIGN.md and the use cases' docstrings.

Recorded with the bench's statement hooks (bench.inprocess) on the real app, the sandbox gateway and Postgres,
after a first request of the same kind, as `make bench` records the statements its pgbench and bare handler
replay."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from bench.cpu_per_request import paid_in_the_browser
from bench.inprocess import InProcessHexpay, Statement, in_process_hexpay
from bench.secrets import BenchSecrets

pytestmark = pytest.mark.postgres

_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)
_WRITTEN = re.compile(r"\b(?:INSERT INTO|UPDATE)\s+(\w+)", re.IGNORECASE)


def shape(statement: Statement) -> str:
    """'BEGIN', 'SELECT payments FOR UPDATE', 'UPDATE orders', 'WITH payments, orders, outbox', ...: the verb and
    the first table it names, or for a data-modifying WITH every table it writes, in order."""
    sql = statement.sql.strip().rstrip(";")
    verb = sql.split()[0].upper()
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
        return verb
    if verb == "WITH":
        return "WITH " + ", ".join(_WRITTEN.findall(sql))
    table = _TABLE.search(sql)
    locked = " FOR UPDATE" if re.search(r"\bFOR UPDATE\b", sql) else ""
    return f"{verb} {table.group(1) if table else '?'}{locked}"


async def _create(hexpay: InProcessHexpay, reference: str, gateway: str, card: str) -> Any:
    order = await hexpay.order(reference)
    return await hexpay.record("POST", "/api/store/payments/intent/", headers={
        **hexpay.shopper(reference), "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"},
        content=json.dumps({"order_id": order, "gateway_id": gateway, "payment_method_id": card}).encode())


async def _confirm(hexpay: InProcessHexpay, reference: str, payment_id: str) -> Any:
    return await hexpay.record("POST", f"/api/store/payments/{payment_id}/confirm/", headers={
        **hexpay.shopper(reference), "Idempotency-Key": uuid.uuid4().hex})


@pytest.fixture
async def recorded(postgres_url: str) -> dict[str, list[str]]:
    shapes: dict[str, list[str]] = {}
    async with in_process_hexpay(postgres_url, BenchSecrets()) as hexpay:
        gateway = await hexpay.register_gateway()
        card = await hexpay.save_card("shopper-1", gateway)
        for _ in range(2):  # the second of each is kept: the first warms the caches
            created = await _create(hexpay, "shopper-1", gateway, card)
            confirmed = await _confirm(hexpay, "shopper-1", created.response.json()["payment_id"])
            assert (created.response.status_code, confirmed.response.json()["status"]) == (201, "succeeded")
        shapes["create"] = [shape(s) for s in created.statements]
        shapes["confirm"] = [shape(s) for s in confirmed.statements]
        # A card that attaches and is declined when charged: the settlement moves the payment alone, with its event.
        declining = await hexpay.save_card("shopper-1", gateway, "pm_card_chargeCustomerFail")
        for _ in range(2):
            opened = await _create(hexpay, "shopper-1", gateway, declining)
            declined = await _confirm(hexpay, "shopper-1", opened.response.json()["payment_id"])
            assert declined.response.json()["status"] == "requires_payment_method"
        shapes["declined confirm"] = [shape(s) for s in declined.statements]
        payment_id = created.response.json()["payment_id"]
        for name, path in (("get", f"/api/store/payments/{payment_id}/"), ("list", "/api/v1/me/payment-methods/"),
                           ("orders", "/api/v1/me/orders/?limit=1"), ("more orders", "/api/v1/me/orders/?limit=50")):
            read = await hexpay.record("GET", path, headers=hexpay.shopper("shopper-1"))
            assert read.response.status_code == 200
            shapes[name] = [shape(s) for s in read.statements]
        # A payment the shopper confirmed in the browser: hexpay learns of it from the webhook alone.
        opened = [(await _create(hexpay, "shopper-1", gateway, card)).response.json() for _ in range(2)]
        deliveries = await paid_in_the_browser(hexpay, gateway, opened)
        succeeded = [(headers, body) for headers, body in deliveries
                     if json.loads(body)["type"] == "payment_intent.succeeded"]
        for headers, body in succeeded:
            delivered = await hexpay.record("POST", f"/api/store/payments/callback/{gateway}",
                                            headers=headers, content=body)
            assert delivered.response.json().get("duplicate") is not True
        shapes["webhook"] = [shape(s) for s in delivered.statements]
        again = await hexpay.record("POST", f"/api/store/payments/callback/{gateway}", headers=headers, content=body)
        assert again.response.json()["duplicate"] is True
        shapes["duplicate webhook"] = [shape(s) for s in again.statements]
    return shapes


def test_a_payment_is_created_in_eight_round_trips(recorded: dict[str, list[str]]) -> None:
    assert recorded["create"] == [
        "INSERT idempotency_keys",  # the Idempotency-Key claimed first: a retry finds it
        # What the request needs, read without a transaction (none decides anything alone).
        # Its gateway account comes from memory: the process listens for the account's changes.
        "SELECT customers", "SELECT orders", "SELECT payments", "SELECT payment_methods",
        # The payment opened, with its event, before the gateway hears of it (a crash after is repaired by a retry):
        # one statement committed by itself, the INSERT and the outbox rows each a data-modifying WITH.
        "WITH payments, outbox",
        # The gateway's answer settled on the payment as written above: its version stands in for a re-read, and
        # a write of one statement without events commits alone.
        "UPDATE payments",
        "UPDATE idempotency_keys",  # the answer kept for replays
    ]


def test_a_payment_is_confirmed_in_six_round_trips(recorded: dict[str, list[str]]) -> None:
    assert recorded["confirm"] == [
        "INSERT idempotency_keys",
        # The attempt counted before the gateway is called, so its key is never reused: one UPDATE matched on the
        # version read, committed alone (a change in between fails it, and the attempt starts over). Whose payment
        # it is: the shopper's customer id, remembered since it was first read (it never changes); its gateway
        # account: from memory, as for create.
        "SELECT payments", "UPDATE payments",
        # The success settled on the payment as the attempt left it, cascading to its order and invoice (read
        # together): the three writes, each matched on its version, and their events in one statement committed by
        # itself, which fails whole if any write lost its race (where six went: BEGIN, a statement each, COMMIT).
        "SELECT orders", "WITH payments, orders, invoices, outbox",
        "UPDATE idempotency_keys",
    ]


def test_a_declined_confirm_is_settled_in_one_round_trip(recorded: dict[str, list[str]]) -> None:
    assert recorded["declined confirm"] == [
        "INSERT idempotency_keys", "SELECT payments", "UPDATE payments",
        # The decline moves the payment alone and records PaymentFailed: the UPDATE and its event in one statement
        # committed by itself (where four went: BEGIN, UPDATE, the outbox INSERT, COMMIT).
        "WITH payments, outbox",
        "UPDATE idempotency_keys",
    ]


def test_a_webhook_is_settled_in_six_round_trips_and_a_duplicate_in_three(
    recorded: dict[str, list[str]],
) -> None:
    assert recorded["webhook"] == [
        "BEGIN",  # the account whose webhook secret signed it: from memory
        # The event claimed (INSERT ... ON CONFLICT DO NOTHING inside a WITH that, for a duplicate, reads the first
        # delivery's outcome in the same statement): a concurrent duplicate waits on it, then finds it.
        "WITH webhook_inbox",
        "SELECT payments FOR UPDATE", "SELECT orders",  # the order with its lines and invoice, in one
        # The settlement's writes, the event's outcome and the events: one statement before COMMIT (where five went).
        "WITH payments, orders, invoices, webhook_inbox, outbox", "COMMIT",
    ]
    assert recorded["duplicate webhook"] == [
        "BEGIN", "WITH webhook_inbox", "ROLLBACK",
    ]


def test_a_shopper_reads_a_payment_or_their_cards_in_one_round_trip(recorded: dict[str, list[str]]) -> None:
    # Whose they are is checked against the shopper's customer id, remembered since it was first read.
    assert recorded["get"] == ["SELECT payments"]
    assert recorded["list"] == ["SELECT payment_methods"]


def test_a_page_of_a_shoppers_orders_takes_the_same_round_trips_whatever_its_size(
    recorded: dict[str, list[str]],
) -> None:
    # The orders, their lines and their invoices: a read each for the whole page (the invoices were read one order
    # at a time, a round trip per order on the page).
    expected = ["BEGIN", "SELECT orders", "SELECT order_lines", "SELECT invoices", "ROLLBACK"]
    assert recorded["orders"] == expected
    assert recorded["more orders"] == expected
