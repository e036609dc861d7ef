"""The gateway registry: built-in kinds, plugins from the `hexpay.gateways` entry-point group, one adapter per
account and credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import EntryPoint

import pytest

from adapters.gateway_registry import ENTRY_POINT_GROUP, EntryPointGatewayRegistry, UnknownGatewayKind
from application.ports.gateway import GatewayKindInfo
from domain.gateway_account import GatewayAccount, GatewayCredentials, Secret


class FakeGateway:
    """Just enough of a gateway to tell instances apart and see them closed."""

    supports_saved_cards = False

    def __init__(self, account: GatewayAccount) -> None:
        self.kind = account.kind
        self.account_id = account.id
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


def fake_kind() -> GatewayKindInfo:
    """What a plugin's entry point returns."""
    return GatewayKindInfo(kind="fakepay", factory=FakeGateway, description="a plugin")


def not_a_kind() -> str:
    return "oops"


def _entry_point(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"{__name__}:{target}", group=ENTRY_POINT_GROUP)


def _account(kind: str = "fakepay", account_id: str = "gw_1", secret: str = "sk_test_1") -> GatewayAccount:
    return GatewayAccount(
        id=account_id, name="Main", kind=kind, publishable_key="pk_test_1",
        credentials=GatewayCredentials(secret_key=Secret(secret), webhook_secret=Secret("whsec_1")),
        is_active=True, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _registry(*points: EntryPoint) -> EntryPointGatewayRegistry:
    seen_groups: list[str] = []

    def discover(group: str) -> list[EntryPoint]:
        seen_groups.append(group)
        return list(points)

    registry = EntryPointGatewayRegistry(discover=discover)
    registry.load_entry_points()
    assert seen_groups == ["hexpay.gateways"]
    return registry


def test_a_plugin_registered_through_the_entry_point_group_serves_its_accounts() -> None:
    registry = _registry(_entry_point("fakepay", "fake_kind"))
    assert registry.kinds() == ["fakepay"] and registry.is_known("fakepay")
    gateway = registry.gateway_for(_account())
    assert isinstance(gateway, FakeGateway) and gateway.account_id == "gw_1"


def test_a_built_in_kind_wins_over_a_plugin_claiming_the_same_kind() -> None:
    registry = EntryPointGatewayRegistry(discover=lambda group: [_entry_point("fakepay", "fake_kind")])

    class BuiltIn(FakeGateway):
        pass

    registry.register(GatewayKindInfo(kind="fakepay", factory=BuiltIn))
    assert registry.load_entry_points() == []
    assert isinstance(registry.gateway_for(_account()), BuiltIn)


def test_a_broken_plugin_is_skipped_and_the_others_load(caplog: pytest.LogCaptureFixture) -> None:
    registry = _registry(_entry_point("broken", "not_a_kind"), _entry_point("missing", "no_such_attribute"),
                         _entry_point("fakepay", "fake_kind"))
    assert registry.kinds() == ["fakepay"]
    assert "broken" in caplog.text and "missing" in caplog.text


def test_registering_a_kind_twice_is_an_error() -> None:
    registry = EntryPointGatewayRegistry(discover=lambda group: [])
    registry.register(fake_kind())
    with pytest.raises(ValueError, match="already registered"):
        registry.register(fake_kind())


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    registry = _registry(_entry_point("fakepay", "fake_kind"))
    assert not registry.is_known("acme")
    with pytest.raises(UnknownGatewayKind, match="fakepay"):
        registry.gateway_for(_account(kind="acme"))


async def test_one_adapter_per_account_until_its_credentials_change() -> None:
    registry = _registry(_entry_point("fakepay", "fake_kind"))
    first = registry.gateway_for(_account())
    assert registry.gateway_for(_account()) is first  # an equal account loaded again: same client
    other_account = registry.gateway_for(_account(account_id="gw_2"))
    assert other_account is not first
    rotated = registry.gateway_for(_account(secret="sk_test_2"))
    assert rotated is not first
    assert registry.gateway_for(_account(secret="sk_test_2")) is rotated
    await registry.aclose()
    assert isinstance(first, FakeGateway) and first.closed
    assert isinstance(rotated, FakeGateway) and rotated.closed
    assert isinstance(other_account, FakeGateway) and other_account.closed


def test_the_real_entry_point_lookup_finds_nothing_unexpected() -> None:
    # No plugin is installed in hexpay's own environment; discovery must still run cleanly.
    registry = EntryPointGatewayRegistry()
    assert registry.load_entry_points() == []
