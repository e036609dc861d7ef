"""The load campaign (tests/load/campaign.py) over real HTTP on 127.0.0.1, on Postgres.

`make test` runs a small size; `make load` a larger one (HEXPAY_LOAD_PAYMENTS, HEXPAY_LOAD_SHOPPERS,
HEXPAY_LOAD_CONCURRENCY, HEXPAY_LOAD_SECONDS). The numbers it checked are printed in the summary.
"""

from __future__ import annotations

import os
from collections import Counter

from dependency_injector import providers

from adapters.sandbox import SandboxNetwork
from entrypoints.http.app import create_app
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.gateway_ledger import GatewayLedger
from tests.fakes.measurements import Measure
from tests.fakes.truth import all_events, compare_with_gateway
from tests.load.campaign import Campaign, Size
from tests.load.server import serving

SIZE = Size(
    payments=int(os.environ.get("HEXPAY_LOAD_PAYMENTS", "40")),
    shoppers=int(os.environ.get("HEXPAY_LOAD_SHOPPERS", "8")),
    concurrency=int(os.environ.get("HEXPAY_LOAD_CONCURRENCY", "16")),
    seconds=float(os.environ.get("HEXPAY_LOAD_SECONDS", "120")),
)


async def test_concurrent_duplicated_shuffled_webhooks_racing_confirms_settle_exactly_once(
    postgres_url: str, measure: Measure
) -> None:
    settings = e2e_settings(postgres_url, public_base_url="http://127.0.0.1")
    container = e2e_container(settings)
    container.sandbox_network.override(providers.Singleton(
        SandboxNetwork, public_base_url=settings.public_base_url, deliver=None, later_after=None))
    app = create_app(container)
    try:
        async with serving(app) as base_url:
            campaign = Campaign(base_url, container.sandbox_network(), SIZE)
            timing = await campaign.run()
        uow = container.uow_factory()
        ledger = GatewayLedger(campaign.network, campaign.gateway["id"])
        agreement = await compare_with_gateway(uow, ledger, [p["order_id"] for p in campaign.payments],
                                               disputes=True)
        feed = Counter(event.type for event in await all_events(uow))
        async with uow() as tx:
            unrecorded = [event_id for event_id in campaign.tally.events
                          if await tx.webhook_inbox.get(campaign.gateway["id"], event_id) is None]
    finally:
        await container.engine().dispose()

    tally = campaign.tally
    unique = len(tally.events)
    assert agreement.problems == [], agreement.problems[:20]
    assert set(tally.taken) == set(tally.events) and set(tally.taken.values()) == {1}  # none lost, none twice
    assert unrecorded == []
    assert tally.duplicates == tally.deliveries - unique - sum(tally.retried.values())
    assert timing["replayed_as_duplicates"] == unique
    assert timing["total_s"] < SIZE.seconds, timing
    statuses = Counter(i.status for i in ledger.intents())
    assert feed["PaymentSucceeded"] == statuses["succeeded"] == ledger.successful_charges()
    assert feed["OrderPaid"] == feed["InvoicePaid"] == statuses["succeeded"]
    assert feed["DisputeOpened"] == len(ledger.disputes()) and feed["DisputeClosed"] == len(ledger.disputes())
    measure("load campaign", payments=SIZE.payments, concurrency=SIZE.concurrency, **timing,
            deliveries=tally.deliveries, unique_events=unique, taken_once=len(tally.taken),
            duplicates=tally.duplicates, retried=dict(tally.retried), client=dict(tally.client_answers),
            gateway=dict(statuses), refunds_at_gateway=len(ledger.refunds()), disputes=len(ledger.disputes()),
            feed={k: feed[k] for k in sorted(feed)}, checks=agreement.counts["checks"])
