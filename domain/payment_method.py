"""A card saved for a customer at one gateway account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def __post_init__(self) -> None:
        if not (1 <= self.exp_month <= 12):
            raise ValidationFailed("card exp_month must be 1-12")
        if not (len(self.last4) == 4 and self.last4.isdigit()):
            raise ValidationFailed("card last4 must be four digits")

    @property
    def display(self) -> str:
        return f"{self.brand.upper()} \u2022\u2022\u2022\u2022 {self.last4}"


@dataclass(slots=True)
class PaymentMethod:
    """At most one default per customer and gateway account (the use case and a unique index keep it)."""

    id: str
    customer_id: str
    gateway_account_id: str
    gateway_payment_method_id: str
    card: Card
    is_default: bool
    created_at: datetime
    cardholder_name: str | None = None
    detached: bool = False
    version: int = 0

    def make_default(self) -> None:
        if self.detached:
            raise ValidationFailed("a removed payment method cannot be the default")
        self.is_default = True

    def clear_default(self) -> None:
        self.is_default = False

    def detach(self) -> None:
        self.detached = True
        self.is_default = False

    def update_card_details(
        self, *, exp_month: int | None = None, exp_year: int | None = None, cardholder_name: str | None = None
    ) -> None:
        self.card = Card(
            brand=self.card.brand,
            last4=self.card.last4,
            exp_month=exp_month if exp_month is not None else self.card.exp_month,
            exp_year=exp_year if exp_year is not None else self.card.exp_year,
        )
        if cardholder_name is not None:
            self.cardholder_name = cardholder_name
