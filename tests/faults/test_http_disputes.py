"""Disputes over HTTP: the payment shows them (status, amount, reason), the event feed publishes DisputeOpened and
DisputeClosed once each, and a lost dispute is taken off the order (refunded, nothing left to refund)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.client import assert_problem
from tests.fakes.measurements import Measure
from tests.faults.http_world import http_world

DISPUTED_CARD = "4000000000000259"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_a_lost_dispute_shows_on_the_payment_in_the_feed_and_in_the_amounts(
    request: pytest.FixtureRequest, database: str, measure: Measure
) -> None:
    async with http_world(request.getfixturevalue(f"{database}_url")) as world:
        api, shopper = world.api, world.api.shopper("disputer")
        order = await api.order("disputer", amount=6_400)
        card = (await api.save_card(shopper, world.gateway["id"], DISPUTED_CARD)).json()
        intent = (await api.intent(shopper, order["id"], world.gateway["id"], payment_method_id=card["id"],
                                   confirm=True)).json()
        assert intent["status"] == "succeeded"
        assert world.network.run_deferred() == 1
        [(dispute_id, _, _, _)] = world.ledger.disputes()
        opened = await world.deliver_webhooks()

        payment = await api.admin_payment(intent["payment_id"])
        assert [(d["id"], d["status"], d["amount"], d["reason"]) for d in payment["disputes"]] == [
            (dispute_id, "needs_response", 6_400, "fraudulent")]
        mine = (await shopper.get(f"/api/store/payments/{intent['payment_id']}/")).json()
        assert mine["disputes"] == payment["disputes"]

        world.network.close_dispute(dispute_id, won=False)
        closed = await world.deliver_webhooks()
        payment = await api.admin_payment(intent["payment_id"])
        order = await api.admin_order(order["id"])
        assert payment["disputes"][0]["status"] == "lost" and payment["amount_lost_to_disputes"] == 6_400
        assert (order["status"], order["amount_refunded"]) == ("refunded", 6_400)
        feed = Counter(t for t in await api.event_types() if t.startswith("Dispute"))
        assert feed == {"DisputeOpened": 1, "DisputeClosed": 1}
        # Nothing is left to refund: the bank already took it back.
        assert_problem(await api.admin.post(f"/api/v1/admin/payments/{intent['payment_id']}/refunds/"),
                       422, "unprocessable")
        measure(f"lost dispute over HTTP ({database})", webhooks=sum(opened.values()) + sum(closed.values()),
                feed=dict(feed), order=order["status"], lost=payment["amount_lost_to_disputes"])
