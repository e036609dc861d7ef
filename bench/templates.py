"""Template rows, made by hexpay itself: a customer with a saved card, a pending order, a paid order, and an
order whose 3-D Secure payment waits in requires_action, plus the webhook that Stripe (here the sandbox) sends
when that payment succeeds. The seeder copies these rows by the thousand, so every seeded row is shaped exactly
as hexpay writes it, and the webhooks the load sends are shaped exactly as the gateway sends them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from bench.inprocess import InProcessHexpay

TEMPLATE_KEY = "bench-template-key"


@dataclass
class Templates:
    gateway_id: str
    customer: str  # customer id of the card holder (linked at the gateway)
    card: str  # the holder's saved visa: each seeded customer gets one like it
    pending_order: str
    paid_order: str
    paid_payment: str
    action_order: str  # its payment waits for 3-D Secure; the succeeded webhook settles it
    action_payment: str
    action_gateway_payment: str
    succeeded_event: dict[str, Any]  # payment_intent.succeeded for the action payment, as the gateway sent it
    idempotency_caller: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def build(hexpay: InProcessHexpay) -> Templates:
    gateway_id = await hexpay.register_gateway()
    holder = "shopper-template"
    card = await hexpay.save_card(holder, gateway_id)
    pending = await hexpay.order(holder)
    paid = await hexpay.order(holder)
    opened = await hexpay.call("POST", "/api/store/payments/intent/",
                               headers={**hexpay.shopper(holder), "Idempotency-Key": TEMPLATE_KEY},
                               json={"order_id": paid, "gateway_id": gateway_id, "payment_method_id": card})
    paid_payment = opened.json()["payment_id"]
    confirmed = await hexpay.call("POST", f"/api/store/payments/{paid_payment}/confirm/",
                                  headers=hexpay.shopper(holder))
    assert confirmed.json()["status"] == "succeeded", confirmed.text

    # A 3-D Secure card of the same customer: its payment stops in requires_action until the bank answers.
    secure_card = await hexpay.save_card(holder, gateway_id, "pm_card_authenticationRequired")
    action = await hexpay.order(holder)
    opened = await hexpay.call("POST", "/api/store/payments/intent/", headers=hexpay.shopper(holder),
                               json={"order_id": action, "gateway_id": gateway_id, "payment_method_id": secure_card})
    action_payment = opened.json()["payment_id"]
    confirmed = await hexpay.call("POST", f"/api/store/payments/{action_payment}/confirm/",
                                  headers=hexpay.shopper(holder))
    assert confirmed.json()["status"] == "requires_action", confirmed.text
    gateway_payment = confirmed.json()["gateway_payment_id"]
    hexpay.network.drain_webhooks(gateway_id)
    hexpay.network.authenticate(gateway_payment, True)
    events = [json.loads(body) for body, _ in hexpay.network.drain_webhooks(gateway_id)]
    succeeded = next(e for e in events if e["type"] == "payment_intent.succeeded")

    async with hexpay.container.uow_factory()() as uow:
        customer = await uow.customers.get_by_reference(holder)
    assert customer is not None
    # The second card stays on the template customer only; the seeded customers hold one card each.
    return Templates(gateway_id=gateway_id, customer=customer.id, card=card, pending_order=pending, paid_order=paid,
                     paid_payment=paid_payment, action_order=action, action_payment=action_payment,
                     action_gateway_payment=gateway_payment, succeeded_event=succeeded,
                     idempotency_caller=f"shopper:{holder}")
