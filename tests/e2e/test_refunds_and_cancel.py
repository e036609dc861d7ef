"""Refunds (partial, full, too much), canceling orders and payments, and the invoice actions."""

from __future__ import annotations

from tests.e2e.client import Hexpay, assert_problem


async def test_partial_then_full_refund(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    order, payment = await api.paid_order("alice", gateway["id"], amount=5000)
    refunds = f"/api/v1/admin/payments/{payment['id']}/refunds/"

    partial = await api.admin.post(refunds, {"amount": 2000, "reason": "requested_by_customer"})
    assert partial.status_code == 201, partial.text
    refund = partial.json()
    assert refund["id"].startswith("rfd_") and refund["payment_id"] == payment["id"]
    assert (refund["amount"], refund["currency"], refund["reason"]) == (2000, "usd", "requested_by_customer")
    assert refund["status"] == "succeeded"
    await api.delivered()
    assert (await api.admin_order(order["id"]))["status"] == "partially_refunded"

    assert_problem(await api.admin.post(refunds, {"amount": 3001}), 422, "unprocessable")

    rest = await api.admin.post(refunds)  # what is still refundable
    assert rest.status_code == 201 and rest.json()["amount"] == 3000
    await api.delivered()
    order = await api.admin_order(order["id"])
    assert order["status"] == "refunded" and order["amount_refunded"] == 5000
    paid = await api.admin_payment(payment["id"])
    assert paid["amount_refunded"] == 5000 and len(paid["refunds"]) == 2
    assert_problem(await api.admin.post(refunds), 422, "unprocessable")  # nothing left
    types = await api.event_types()
    assert types.count("RefundSucceeded") == 2, types


async def test_refund_of_an_unpaid_payment_is_422(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("bob")
    order = await api.order("bob")
    intent = (await api.intent(shopper, order["id"], gateway["id"])).json()
    assert_problem(await api.admin.post(f"/api/v1/admin/payments/{intent['payment_id']}/refunds/", {"amount": 1}),
                   422, "unprocessable")
    assert_problem(await api.admin.post("/api/v1/admin/payments/pay_nope/refunds/", {"amount": 1}), 404,
                   "not_found")
    assert_problem(await api.admin.post(f"/api/v1/admin/payments/{intent['payment_id']}/refunds/",
                                        {"reason": "because"}), 400, "validation_error")


async def test_cancel_order(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("carol")
    order = await api.order("carol")
    intent = (await api.intent(shopper, order["id"], gateway["id"])).json()

    canceled = await api.admin.post(f"/api/v1/admin/orders/{order['id']}/cancel/")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["invoice"]["status"] == "void"
    assert (await api.admin_payment(intent["payment_id"]))["status"] == "canceled"
    invoice = (await api.admin.get(f"/api/v1/admin/invoices/{order['invoice']['id']}")).json()
    assert invoice["status"] == "void"
    assert_problem(await api.intent(shopper, order["id"], gateway["id"]), 409, "conflict")


async def test_cancel_a_paid_order_is_409(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    order, _ = await api.paid_order("dave", gateway["id"])
    assert_problem(await api.admin.post(f"/api/v1/admin/orders/{order['id']}/cancel/"), 409, "conflict")
    assert (await api.admin_order(order["id"]))["status"] == "paid"


async def test_invoice_actions(api: Hexpay) -> None:
    first = await api.order("erin")
    second = await api.order("erin")
    invoices = "/api/v1/admin/invoices"
    uncollectible = await api.admin.post(f"{invoices}/{first['invoice']['id']}/mark-uncollectible/")
    assert uncollectible.status_code == 200 and uncollectible.json()["status"] == "uncollectible"
    voided = await api.admin.post(f"{invoices}/{first['invoice']['id']}/void/")
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert_problem(await api.admin.post(f"{invoices}/{first['invoice']['id']}/void/"), 409, "conflict")
    got = (await api.admin.get(f"{invoices}/{second['invoice']['id']}")).json()
    assert got["status"] == "open" and got["number"] != first["invoice"]["number"]
    assert got["amount_due"] == got["amount_remaining"] == 2500 and got["amount_paid"] == 0
    assert_problem(await api.admin.get(f"{invoices}/inv_nope"), 404, "not_found")


async def test_reconcile_and_event_feed(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    await api.paid_order("fay", gateway["id"])
    reconciled = await api.admin.post("/api/v1/admin/reconcile/")
    assert reconciled.status_code == 200 and {"checked", "changed"} <= reconciled.json().keys()

    page = (await api.admin.get("/api/v1/admin/events/", limit=2)).json()
    assert len(page["data"]) == 2 and page["has_more"] is True and page["next_cursor"] == page["data"][-1]["id"]
    assert {"id", "type", "occurred_at", "data"} <= page["data"][0].keys()
    assert page["data"][0]["occurred_at"].endswith("Z")
    rest = (await api.admin.get("/api/v1/admin/events/", after=page["next_cursor"], limit=500)).json()
    assert rest["has_more"] is False
    everything = [e["id"] for e in (await api.admin.get("/api/v1/admin/events/", limit=500)).json()["data"]]
    assert everything == [e["id"] for e in page["data"] + rest["data"]]


async def test_shopper_orders(api: Hexpay) -> None:
    shopper = api.shopper("gus")
    older = await api.order("gus")
    newer = await api.order("gus")
    await api.order("someone-else")
    listed = (await shopper.get("/api/v1/me/orders/")).json()
    assert [o["id"] for o in listed["data"]] == [newer["id"], older["id"]] and listed["has_more"] is False
    first = (await shopper.get("/api/v1/me/orders/", limit=1)).json()
    assert [o["id"] for o in first["data"]] == [newer["id"]] and first["has_more"] is True
    second = (await shopper.get("/api/v1/me/orders/", limit=1, starting_after=newer["id"])).json()
    assert [o["id"] for o in second["data"]] == [older["id"]]
    got = (await shopper.get(f"/api/v1/me/orders/{older['id']}")).json()
    assert got == {**older, "invoice": got["invoice"]} and got["invoice"]["status"] == "open"
    assert (await api.shopper("nobody").get("/api/v1/me/orders/")).json()["data"] == []
