"""Forged and replayed webhooks: a genuine event re-sent with an old or a future timestamp, its body changed after
signing, signed for another gateway account or sent to another account's path. Each is 400 invalid_signature and
stores nothing: the payment it would have settled stays as it was, and the genuine delivery afterwards is the
first one hexpay takes (not a duplicate)."""

from __future__ import annotations

import json
import time

from adapters.stripe_wire.signature import SIGNATURE_HEADER, sign
from tests.e2e.client import VISA_3DS, WEBHOOK_SECRET, assert_problem
from tests.fakes.measurements import Measure
from tests.security.probe import VICTIM, shop

OTHER_SECRET = "whsec_other_account_" + "o" * 24


async def test_replayed_tampered_and_misdirected_webhooks_change_nothing(sqlite_url: str, measure: Measure) -> None:
    async with shop(sqlite_url) as found:
        api, alice = found.api, found.api.shopper(VICTIM)
        gateway = found.gateway
        other = (await api.admin.post("/api/v1/admin/gateways/", {
            "name": "Other", "kind": "sandbox",
            "config": {"secret_key": "sk_test_other", "publishable_key": "pk_test_other",
                       "webhook_secret": OTHER_SECRET}})).json()
        # Alice pays with 3-D Secure; the bank says yes, and the gateway's webhook is held back.
        card = (await api.save_card(alice, gateway["id"], VISA_3DS)).json()
        order = await api.order(VICTIM, amount=4_100)
        intent = (await api.intent(alice, order["id"], gateway["id"], payment_method_id=card["id"],
                                   confirm=True)).json()
        assert intent["status"] == "requires_action"
        await api.delivered()
        api.network.set_webhook_sender(None)
        api.network.authenticate(intent["gateway_payment_id"], success=True)
        [genuine] = [(body, headers) for body, headers in api.network.drain_webhooks(gateway["id"])
                     if json.loads(body)["type"] == "payment_intent.succeeded"
                     and json.loads(body)["data"]["object"]["id"] == intent["gateway_payment_id"]]
        body, headers = genuine
        before = await found.state()
        now = int(time.time())

        def signed(payload: bytes, secret: str = WEBHOOK_SECRET, at: int = now) -> dict[str, str]:
            return {**headers, SIGNATURE_HEADER: sign(payload, secret, at)}

        event = json.loads(body)
        richer = json.dumps({**event, "data": {"object": {**event["data"]["object"], "amount_received": 1}}})
        attacks = {
            "replayed 301 s later": (gateway, body, signed(body, at=now - 301)),
            "replayed an hour later": (gateway, body, signed(body, at=now - 3600)),
            "stamped 301 s in the future": (gateway, body, signed(body, at=now + 301)),
            "body changed after signing": (gateway, richer.encode(), headers),
            "one byte appended": (gateway, body + b" ", headers),
            "signed with another account's secret": (gateway, body, signed(body, OTHER_SECRET)),
            "sent to another account's path": (other, body, headers),
            "no signature": (gateway, body, {k: v for k, v in headers.items() if k != SIGNATURE_HEADER}),
            "signature header without v1": (gateway, body, {**headers, SIGNATURE_HEADER: f"t={now}"}),
            "v0 scheme only": (gateway, body, {**headers, SIGNATURE_HEADER: signed(body)[SIGNATURE_HEADER]
                                               .replace("v1=", "v0=")}),
        }
        for name, (target, payload, attack_headers) in attacks.items():
            response = await api.http.post(target["webhook_path"], content=payload, headers=attack_headers)
            assert response.status_code == 400, (name, response.text)
            assert_problem(response, 400, "invalid_signature")

        assert await found.state() == before
        payment = await api.admin_payment(intent["payment_id"])
        assert payment["status"] == "requires_action"  # none of them settled the success

        # Within the tolerance the same event is genuine: taken once, and it settles the payment.
        taken = await api.http.post(gateway["webhook_path"], content=body, headers=signed(body, at=now - 250))
        assert taken.status_code == 200 and taken.json() == {"received": True, "duplicate": False}, taken.text
        again = await api.http.post(gateway["webhook_path"], content=body, headers=signed(body))
        assert again.json()["duplicate"] is True
        assert (await api.admin_payment(intent["payment_id"]))["status"] == "succeeded"
        measure("forged webhooks", attacks=len(attacks), all_400=True, state_before_genuine="unchanged",
                genuine_taken=1, duplicates=1)
