"""`hexpay reconcile` and `hexpay worker`, the commands an operator schedules, repair a real Stripe-shaped
gateway's lost answer: an intent created and charged on localstripe whose answer never reached hexpay is found by
the metadata hexpay set, linked and settled. The sandbox cannot stand in here: its state lives in the process
that made it, and these commands run in their own process, as in production."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from dependency_injector import providers

from adapters.gateway_registry import EntryPointGatewayRegistry
from adapters.stripe import StripePaymentGateway
from application.ports.gateway import GatewayKindInfo
from application.use_cases.gateway_accounts import RegisterGatewayAccountCommand
from application.use_cases.orders import CreateOrderCommand, OrderLineInput
from application.use_cases.payment_methods import SavePaymentMethodCommand, Shopper
from application.use_cases.payments import CreatePaymentCommand
from domain.errors import GatewayUnavailable
from domain.gateway_account import GatewayAccount
from entrypoints.cli import main
from entrypoints.container import Container
from tests.contract.gateway_harness import CARD_VISA
from tests.contract.stripe_harness import LocalStripeHarness, stripe_harness
from tests.e2e.conftest import e2e_container, e2e_settings
from tests.fakes.faulty_gateway import Fault, FaultPlan, FaultyGateway, Step
from tests.fakes.measurements import Measure
from tests.integration.localstripe_server import PUBLISHABLE_KEY, SECRET_KEY

pytestmark = pytest.mark.localstripe
SHOPPER = Shopper(reference="cli-shopper", email="cli@example.com")


def faulty_stripe(plan: FaultPlan) -> EntryPointGatewayRegistry:
    registry = EntryPointGatewayRegistry()

    def stripe(account: GatewayAccount) -> FaultyGateway:
        return FaultyGateway(StripePaymentGateway(account), plan)

    registry.register(GatewayKindInfo(kind="stripe", factory=stripe))
    return registry


async def lost_payment(container: Container, plan: FaultPlan, account_id: str, card_id: str) -> tuple[str, str]:
    """A paid intent at the gateway whose creation answer hexpay never got: (order id, payment id)."""
    view = await container.create_order()(CreateOrderCommand(
        customer_reference=SHOPPER.reference, currency="eur", lines=(OrderLineInput("Tea", 1, 2_500),)))
    plan.arm(Step.CREATE, Fault.ANSWER_LOST)
    with pytest.raises(GatewayUnavailable):
        await container.create_payment()(CreatePaymentCommand(SHOPPER, view.order.id, account_id,
                                                              payment_method_id=card_id, confirm=True))
    async with container.uow_factory()() as uow:
        [payment] = await uow.payments.list_for_order(view.order.id)
    assert payment.gateway_payment_id is None
    return view.order.id, payment.id


async def status_of(container: Container, order_id: str, payment_id: str) -> tuple[str, str, bool]:
    payment = await container.get_payment()(payment_id)
    order = (await container.get_order()(order_id)).order
    return payment.status.value, order.status.value, payment.gateway_payment_id is not None


def cli_environment(database_url: str, key: str, var_dir: Path) -> dict[str, str]:
    return {"HEXPAY_ENV": "dev", "HEXPAY_DATABASE_URL": database_url, "HEXPAY_SECRET_KEY": key,
            "HEXPAY_VAR_DIR": str(var_dir), "HEXPAY_ADMIN_TOKEN": "cli-admin-" + "a" * 24,
            "HEXPAY_JWT_SECRET": "cli-jwt-" + "j" * 24}


async def test_hexpay_reconcile_and_hexpay_worker_find_a_lost_creation_by_its_metadata(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    measure: Measure,
) -> None:
    key = Fernet.generate_key().decode()
    plan = FaultPlan()
    container = e2e_container(e2e_settings(sqlite_url, secret_keys=(key,)))
    container.gateway_registry.override(providers.Singleton(faulty_stripe, plan))
    harness: LocalStripeHarness
    async with stripe_harness() as harness:
        try:
            account = await container.register_gateway()(RegisterGatewayAccountCommand(
                name="Stripe", kind="stripe", secret_key=SECRET_KEY, publishable_key=PUBLISHABLE_KEY,
                webhook_secret=harness.webhook_secret, api_base=harness.account.credentials.api_base))
            card = await container.save_payment_method()(SavePaymentMethodCommand(
                SHOPPER, account.id, await harness.tokenize_card(CARD_VISA)))
            first = await lost_payment(container, plan, account.id, card.id)
            assert await status_of(container, *first) == ("requires_payment_method", "pending_payment", False)

            environment = cli_environment(sqlite_url, key, tmp_path)
            for name, value in environment.items():
                monkeypatch.setenv(name, value)
            await asyncio.to_thread(main, ["reconcile", "--older-than", "0"])
            said = capsys.readouterr().out.strip()
            assert said == "checked=1 changed=1 failed=0", said
            assert await status_of(container, *first) == ("succeeded", "paid", True)

            second = await lost_payment(container, plan, account.id, card.id)
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEXPAY_")}, **environment}
            hexpay = Path(sys.executable).with_name("hexpay")
            worker = await asyncio.create_subprocess_exec(
                str(hexpay), "worker", "--interval", "0.5", "--older-than", "0", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            lines: list[str] = []
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and worker.stdout is not None:
                    line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode()
                    lines.append(line.strip())
                    if "changed=1" in line or not line:
                        break
            finally:
                worker.terminate()
                await worker.wait()
            assert any(line.endswith("reconcile checked=1 changed=1 failed=0") for line in lines), lines
            assert await status_of(container, *second) == ("succeeded", "paid", True)
        finally:
            await container.gateway_registry().aclose()
            await container.engine().dispose()
    measure("hexpay reconcile / worker on localstripe", reconcile=said, worker=lines[-1])
