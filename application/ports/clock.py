"""Time and identity come in through ports so the domain and the tests control them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class IdGenerator(Protocol):
    def new_id(self, prefix: str) -> str:
        """A new unique opaque id with a typed prefix: new_id("pay") -> "pay_..."."""
