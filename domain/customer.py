"""Customer: the shop's user, known to each gateway account under its own customer id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import ValidationFailed


@dataclass(slots=True)
class Customer:
    id: str
    reference: str
    email: str | None
    created_at: datetime
    gateway_customer_ids: dict[str, str] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        if not self.reference or len(self.reference) > 255:
            raise ValidationFailed("customer reference must be 1-255 characters")

    def gateway_customer_id(self, gateway_account_id: str) -> str | None:
        return self.gateway_customer_ids.get(gateway_account_id)

    def link_gateway_customer(self, gateway_account_id: str, gateway_customer_id: str) -> None:
        """Remember the gateway's customer; linking a different one later would orphan saved cards."""
        known = self.gateway_customer_ids.get(gateway_account_id)
        if known is not None and known != gateway_customer_id:
            raise ValidationFailed("customer is already linked to another gateway customer")
        self.gateway_customer_ids[gateway_account_id] = gateway_customer_id
