"""Gateway accounts (admin) and the storefront's gateway list (BFG)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from application.use_cases.gateway_accounts import RegisterGatewayAccountCommand, UpdateGatewayAccountCommand
from domain.gateway_account import GatewayAccount
from entrypoints.http.schemas.common import Body, Out, rfc3339

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Key = Annotated[str, msgspec.Meta(max_length=500)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^https?://")]


class GatewayConfigIn(Body):
    secret_key: Key
    publishable_key: Key
    webhook_secret: Key
    api_base: Url | None = None


class GatewayConfigPatch(Body):
    secret_key: Key | msgspec.UnsetType = msgspec.UNSET
    publishable_key: Key | msgspec.UnsetType = msgspec.UNSET
    webhook_secret: Key | msgspec.UnsetType = msgspec.UNSET
    api_base: Url | msgspec.UnsetType = msgspec.UNSET


class GatewayIn(Body):
    name: Name
    kind: Kind
    config: GatewayConfigIn
    is_active: bool = True


class GatewayPatch(Body):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    config: GatewayConfigPatch | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class GatewayOut(Out):
    """Never a secret: the secret key and the webhook secret stay sealed in the database."""

    id: str
    name: str
    kind: str
    publishable_key: str
    is_active: bool
    webhook_path: str
    created_at: datetime
    object: str = "gateway"


class GatewayList(Out):
    data: list[GatewayOut]
    has_more: bool
    object: str = "list"


class StorefrontDisplayInfo(Out):
    publishable_key: str
    supports_saved_cards: bool


class StorefrontGateway(Out):
    """BFG's gateway shape, for the storefront's checkout."""

    id: str
    name: str
    gateway_type: str
    is_active: bool
    display_info: StorefrontDisplayInfo


def register_command(body: GatewayIn) -> RegisterGatewayAccountCommand:
    return RegisterGatewayAccountCommand(
        name=body.name,
        kind=body.kind,
        secret_key=body.config.secret_key,
        publishable_key=body.config.publishable_key,
        webhook_secret=body.config.webhook_secret,
        api_base=body.config.api_base,
        is_active=body.is_active,
    )


def _given(value: str | msgspec.UnsetType) -> str | None:
    return None if isinstance(value, msgspec.UnsetType) else value


def update_command(account_id: str, body: GatewayPatch) -> UpdateGatewayAccountCommand:
    config = body.config if not isinstance(body.config, msgspec.UnsetType) else GatewayConfigPatch()
    return UpdateGatewayAccountCommand(
        account_id=account_id,
        name=_given(body.name),
        is_active=None if isinstance(body.is_active, msgspec.UnsetType) else body.is_active,
        secret_key=_given(config.secret_key),
        publishable_key=_given(config.publishable_key),
        webhook_secret=_given(config.webhook_secret),
        api_base=_given(config.api_base),
    )


def gateway_out(account: GatewayAccount) -> GatewayOut:
    return GatewayOut(
        id=account.id,
        name=account.name,
        kind=account.kind,
        publishable_key=account.publishable_key,
        is_active=account.is_active,
        webhook_path=account.webhook_path,
        created_at=rfc3339(account.created_at),
    )


def storefront_gateway(account: GatewayAccount, supports_saved_cards: bool) -> StorefrontGateway:
    return StorefrontGateway(
        id=account.id,
        name=account.name,
        gateway_type=account.kind,
        is_active=account.is_active,
        display_info=StorefrontDisplayInfo(publishable_key=account.publishable_key,
                                           supports_saved_cards=supports_saved_cards),
    )
