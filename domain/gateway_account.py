"""GatewayAccount: one merchant account at one gateway, with credentials that never print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import ValidationFailed


class Secret:
    """A credential. repr() and str() never show it; reveal() is the one deliberate way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class GatewayCredentials:
    secret_key: Secret
    webhook_secret: Secret
    api_base: str | None = None


@dataclass(slots=True)
class GatewayAccount:
    id: str
    name: str
    kind: str
    publishable_key: str
    credentials: GatewayCredentials
    is_active: bool
    created_at: datetime
    version: int = 0

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise ValidationFailed("gateway name must be 1-200 characters")
        if not self.kind or not self.kind.replace("_", "").replace("-", "").isalnum():
            raise ValidationFailed("gateway kind must be a short identifier")

    @property
    def webhook_path(self) -> str:
        return f"/api/store/payments/callback/{self.id}"
