"""EntryPointGatewayRegistry: gateway kind -> adapter factory, with third-party adapters found as plugins.

A plugin is an installed distribution that declares, in its pyproject.toml,

    [project.entry-points."hexpay.gateways"]
    acmepay = "acmepay_hexpay:gateway_kind"

where `gateway_kind()` returns a GatewayKindInfo. Built-in kinds are registered by the composition root first
and win over a plugin claiming the same kind: installing a package must never silently replace how hexpay
talks to Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from application.ports.gateway import GatewayKindInfo, PaymentGateway
from domain.errors import ValidationFailed
from domain.gateway_account import GatewayAccount, Secret

ENTRY_POINT_GROUP = "hexpay.gateways"

_log = logging.getLogger(__name__)


class UnknownGatewayKind(ValidationFailed):
    pass


def _discover(group: str) -> Iterable[EntryPoint]:
    return entry_points(group=group)


class EntryPointGatewayRegistry:
    """GatewayRegistry port. One adapter per account and credentials, so each account has exactly one SDK client
    (and one connection pool); new credentials give a new adapter, and the old one is closed."""

    def __init__(self, discover: Callable[[str], Iterable[EntryPoint]] = _discover) -> None:
        self._discover = discover
        self._kinds: dict[str, GatewayKindInfo] = {}
        self._adapters: dict[str, tuple[tuple[Any, ...], PaymentGateway]] = {}
        self._retired: list[PaymentGateway] = []

    def register(self, info: GatewayKindInfo) -> None:
        if info.kind in self._kinds:
            raise ValueError(f"gateway kind {info.kind!r} is already registered")
        self._kinds[info.kind] = info

    def load_entry_points(self) -> list[str]:
        """Register every plugin of the `hexpay.gateways` group; return the kinds added.

        A plugin that fails to load is logged and skipped: one broken package must not stop the service.
        """
        added = []
        for entry_point in self._discover(ENTRY_POINT_GROUP):
            try:
                info = entry_point.load()()
                if not isinstance(info, GatewayKindInfo):
                    raise TypeError(f"returned {type(info).__name__}, not GatewayKindInfo")
            except Exception:
                _log.exception("gateway plugin %r (%s) failed to load", entry_point.name, entry_point.value)
                continue
            if info.kind in self._kinds:
                _log.warning("gateway plugin %r ignored: kind %r is already registered", entry_point.name, info.kind)
                continue
            self._kinds[info.kind] = info
            added.append(info.kind)
        return added

    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    def is_known(self, kind: str) -> bool:
        return kind in self._kinds

    def info(self, kind: str) -> GatewayKindInfo:
        try:
            return self._kinds[kind]
        except KeyError:
            raise UnknownGatewayKind(f"unknown gateway kind {kind!r}; known: {', '.join(self.kinds())}") from None

    def gateway_for(self, account: GatewayAccount) -> PaymentGateway:
        info = self.info(account.kind)
        fingerprint = _fingerprint(account)
        cached = self._adapters.get(account.id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        if cached is not None:
            self._retired.append(cached[1])
        gateway = info.factory(account)
        self._adapters[account.id] = (fingerprint, gateway)
        return gateway

    async def aclose(self) -> None:
        """Close every adapter that holds connections (at shutdown, and the ones replaced by new credentials)."""
        gateways = self._retired + [gateway for _, gateway in self._adapters.values()]
        self._retired, self._adapters = [], {}
        for gateway in gateways:
            close = getattr(gateway, "aclose", None)
            if close is not None:
                await close()


def _fingerprint(account: GatewayAccount) -> tuple[Any, ...]:
    """What, if it changes, needs a new adapter. Secrets compare by value without being kept as plain text."""
    credentials = account.credentials
    secret_key: Secret = credentials.secret_key
    webhook_secret: Secret = credentials.webhook_secret
    return (account.kind, secret_key, webhook_secret, credentials.api_base, account.publishable_key)
