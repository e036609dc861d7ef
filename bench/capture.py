"""Record, in this process, the statements hexpay sends for one request of each scenario (after a first request
of the same kind, so pools and caches are warm), and turn them into plans."""

from __future__ import annotations

import uuid
from typing import Any

from bench import naming, plan
from bench.inprocess import InProcessHexpay, Recorded
from bench.scenarios import WebhookEvents, shopper_context
from bench.seed import Layout, Seeder
from bench.templates import Templates

Plans = dict[str, dict[str, list[plan.Step]]]


def _key() -> str:
    return uuid.uuid4().hex


async def _send(hexpay: InProcessHexpay, request: Any, *, record: bool) -> Recorded:
    kwargs = {"headers": request.headers, "content": request.body or None}
    if record:
        return await hexpay.record(request.method, request.path, **kwargs)
    return Recorded(await hexpay.call(request.method, request.path, **kwargs), [], 0.0)


async def record_all(hexpay: InProcessHexpay, templates: Templates, seeder: Seeder,
                     secret: str) -> tuple[Plans, dict[str, Any]]:
    from bench.scenarios import confirm_request, create_request, get_request, list_request

    plans: Plans = {}
    traces: dict[str, Any] = {}

    def keep(scenario: str, variant: str, recorded: Recorded, ctx: dict[str, Any]) -> None:
        steps = plan.build(recorded.statements, ctx, recorded.started)
        plan.keep_recorded_values(steps, recorded.statements)
        plans.setdefault(scenario, {})[variant] = steps
        traces[f"{scenario}/{variant}"] = {"status": recorded.response.status_code, "statements": len(steps)}

    # create_payment: a fresh customer saves a card (as each benchmarked customer did), then pays two orders.
    pool = await seeder.pool("record-create", "pending", 3, customers=(await seeder.customers_only(1), 1))
    reference = naming.reference(pool.c0)
    card = await hexpay.save_card(reference, templates.gateway_id)
    token = hexpay.secrets.shopper_token(reference)
    warm = create_request(token, naming.order_id(pool.start), templates.gateway_id, card, _key())
    first = (await _send(hexpay, warm, record=False)).response.json()["payment_id"]
    measured = create_request(token, naming.order_id(pool.start + 1), templates.gateway_id, card, _key())
    recorded = await _send(hexpay, measured, record=True)
    second = recorded.response.json()["payment_id"]
    ctx = {**shopper_context(reference), "order_id": measured.meta["order_id"], "gateway_id": templates.gateway_id,
           "payment_method_id": card, "key": measured.meta["key"]}
    keep("create_payment", "create", recorded, ctx)
    replayed = await _send(hexpay, measured, record=True)
    assert replayed.response.content == recorded.response.content, "a replay answered another body"
    keep("create_payment", "replay", replayed, ctx)

    # confirm_payment: the two payments just opened.
    await _send(hexpay, confirm_request(token, first, _key()), record=False)
    measured = confirm_request(token, second, _key())
    recorded = await _send(hexpay, measured, record=True)
    assert recorded.response.json()["status"] == "succeeded", recorded.response.text
    keep("confirm_payment", "confirm", recorded, {**shopper_context(reference), "payment_id": second,
                                                  "key": measured.headers["Idempotency-Key"]})

    # Reads: paid orders of the history and their customers. hexpay remembers a shopper's customer id once read
    # (CustomerRepository.id_of), and nearly every read of the load is a shopper's second or later (10,000 of them,
    # 20,000 requests cycled over the windows): so the recorded read is its shopper's second, the first one warm.
    for scenario, numbers in (("get_payment", (1, 2, 2)), ("list_payment_methods", (3, 4, 4))):
        for last, n in enumerate(numbers, start=1 - len(numbers)):
            c = Layout.history_customer(n)
            who = naming.reference(c)
            token = hexpay.secrets.shopper_token(who)
            if scenario == "get_payment":
                request = get_request(token, naming.payment_id(n))
                ctx = {**shopper_context(who), "payment_id": naming.payment_id(n)}
            else:
                request = list_request(token)
                ctx = shopper_context(who)
            recorded = await _send(hexpay, request, record=last == 0)
            if last == 0:
                keep(scenario, "get" if scenario == "get_payment" else "list", recorded, ctx)

    # webhook: a payment waiting for 3-D Secure succeeds; then the same event again.
    pool = await seeder.pool("record-webhook", "action", 3)
    events = WebhookEvents(templates.succeeded_event, templates.gateway_id, secret)
    await _send(hexpay, events.request(pool.start, naming.event_id(pool.start, "c")), record=False)
    n = pool.start + 1
    event = naming.event_id(n, "c")
    recorded = await _send(hexpay, events.request(n, event), record=True)
    assert recorded.response.json() == {"received": True, "duplicate": False}, recorded.response.text
    keep("webhook", "new", recorded, events.context(n, event))
    recorded = await _send(hexpay, events.request(n, event), record=True)
    assert recorded.response.json() == {"received": True, "duplicate": True}, recorded.response.text
    keep("webhook", "duplicate", recorded, events.context(n, event))
    return plans, traces


def plans_to_json(plans: Plans) -> dict[str, Any]:
    return {s: {v: plan.to_json(steps) for v, steps in variants.items()} for s, variants in plans.items()}


def plans_from_json(raw: dict[str, Any]) -> Plans:
    return {s: {v: plan.from_json(steps) for v, steps in variants.items()} for s, variants in raw.items()}
