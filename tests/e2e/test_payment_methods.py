"""Saved cards: save (both field names), the same card twice, a declined card, list, default, patch, delete."""

from __future__ import annotations

from tests.e2e.client import DECLINED, INSUFFICIENT_FUNDS, MASTERCARD, VISA, Hexpay, assert_problem

BFG_FIELDS = {"method_type", "card_brand", "card_last4", "card_exp_month", "card_exp_year", "cardholder_name",
              "display_info", "is_active"}


async def test_save_a_card(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("alice", "alice@example.com")
    saved = await api.save_card(shopper, gateway["id"], VISA, cardholder_name="Alice Liddell")
    assert saved.status_code == 201, saved.text
    card = saved.json()
    assert card["id"].startswith("cpm_") and card["gateway"] == gateway["id"] and card["type"] == "card"
    assert card["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
    assert card["is_default"] is True  # the first saved method is the default
    assert card.keys() >= BFG_FIELDS
    assert (card["method_type"], card["card_brand"], card["card_last4"]) == ("card", "visa", "4242")
    assert card["display_info"] == "VISA \u2022\u2022\u2022\u2022 4242" and card["is_active"] is True
    assert card["cardholder_name"] == "Alice Liddell"

    listed = (await shopper.get("/api/v1/me/payment-methods/")).json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == [card["id"]]
    assert listed["has_more"] is False


async def test_the_older_field_name_and_the_same_card_twice(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("bfg-user")
    token = await api.tokenize(MASTERCARD)
    body = {"gateway": gateway["id"], "stripe_payment_method_data": {"payment_method_id": token}}
    first = await shopper.post("/api/v1/me/payment-methods/", body)
    assert first.status_code == 201, first.text
    again = await shopper.post("/api/v1/me/payment-methods/", body)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert len((await shopper.get("/api/v1/me/payment-methods/")).json()["data"]) == 1


async def test_both_or_neither_payment_method_field_is_400(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("x")
    data = {"payment_method_id": await api.tokenize()}
    both = {"gateway": gateway["id"], "gateway_payment_method_data": data, "stripe_payment_method_data": data}
    assert_problem(await shopper.post("/api/v1/me/payment-methods/", both), 400, "validation_error")
    assert_problem(await shopper.post("/api/v1/me/payment-methods/", {"gateway": gateway["id"]}), 400,
                   "validation_error")
    assert (await shopper.get("/api/v1/me/payment-methods/")).json()["data"] == []


async def test_a_card_declined_at_attach_is_402(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("dora")
    declined = await api.save_card(shopper, gateway["id"], DECLINED)
    assert assert_problem(declined, 402, "card_declined")["decline_code"] == "generic_decline"
    poor = await api.save_card(shopper, gateway["id"], INSUFFICIENT_FUNDS)
    assert assert_problem(poor, 402, "card_declined")["decline_code"] == "insufficient_funds"
    assert (await shopper.get("/api/v1/me/payment-methods/")).json()["data"] == []


async def test_default_patch_and_delete(any_db_api: Hexpay) -> None:
    api = any_db_api
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("erin")
    visa = (await api.save_card(shopper, gateway["id"], VISA)).json()
    master = (await api.save_card(shopper, gateway["id"], MASTERCARD)).json()
    assert master["is_default"] is False

    made = await shopper.post(f"/api/v1/me/payment-methods/{master['id']}/default/")
    assert made.status_code == 200 and made.json()["is_default"] is True
    listed = {m["id"]: m for m in (await shopper.get("/api/v1/me/payment-methods/")).json()["data"]}
    assert listed[visa["id"]]["is_default"] is False and listed[master["id"]]["is_default"] is True

    patched = await shopper.patch(f"/api/v1/me/payment-methods/{visa['id']}/", {
        "cardholder_name": "Erin Doe", "card_exp_month": 3, "card_exp_year": 2031, "is_default": True})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["cardholder_name"], body["card_exp_month"], body["card_exp_year"]) == ("Erin Doe", 3, 2031)
    assert body["card"]["exp_month"] == 3 and body["is_default"] is True
    # An empty PATCH changes nothing.
    unchanged = await shopper.patch(f"/api/v1/me/payment-methods/{visa['id']}", {})
    assert unchanged.status_code == 200 and unchanged.json()["cardholder_name"] == "Erin Doe"

    removed = await shopper.delete(f"/api/v1/me/payment-methods/{visa['id']}/")
    assert removed.status_code == 204 and removed.content == b""
    remaining = (await shopper.get("/api/v1/me/payment-methods/")).json()["data"]
    assert [m["id"] for m in remaining] == [master["id"]] and remaining[0]["is_default"] is True
    assert_problem(await shopper.delete(f"/api/v1/me/payment-methods/{visa['id']}/"), 404, "not_found")


async def test_paging(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("pager")
    ids = [(await api.save_card(shopper, gateway["id"], number)).json()["id"] for number in (VISA, MASTERCARD, VISA)]
    first = (await shopper.get("/api/v1/me/payment-methods/", limit=2)).json()
    assert [m["id"] for m in first["data"]] == ids[:2] and first["has_more"] is True
    rest = (await shopper.get("/api/v1/me/payment-methods/", limit=2, starting_after=ids[1])).json()
    assert [m["id"] for m in rest["data"]] == ids[2:] and rest["has_more"] is False
    assert_problem(await shopper.get("/api/v1/me/payment-methods/", limit=0), 400, "validation_error")
    assert_problem(await shopper.get("/api/v1/me/payment-methods/", limit=101), 400, "validation_error")


async def test_an_unknown_or_inactive_gateway_is_404(api: Hexpay) -> None:
    gateway = await api.sandbox_gateway()
    shopper = api.shopper("gina")
    assert_problem(await api.save_card(shopper, "gw_nope"), 404, "not_found")
    await api.admin.patch(f"/api/v1/admin/gateways/{gateway['id']}", {"is_active": False})
    assert_problem(await api.save_card(shopper, gateway["id"]), 404, "not_found")
