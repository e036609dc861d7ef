"""Shapes every resource shares: lists, timestamps, and the base Struct configuration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import msgspec

T = TypeVar("T")

MAX_PAGE = 100
# Ids are opaque, but bounded: nothing a client sends is unbounded.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: unknown fields are refused, not ignored, so a typo is a 400 and not a silent no-op."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


def rfc3339(moment: datetime) -> datetime:
    """UTC, whatever the store gave back (SQLite hands back naive datetimes that were written as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def page_of(items: Sequence[T], *, id_of: Callable[[T], str], limit: int,
            starting_after: str | None) -> tuple[list[T], bool]:
    """Page a list the way Stripe does: at most `limit` items after `starting_after`, and whether more follow.
    An unknown `starting_after` gives an empty page (the cursor is past everything the caller can see)."""
    start = 0
    if starting_after is not None:
        ids = [id_of(item) for item in items]
        start = ids.index(starting_after) + 1 if starting_after in ids else len(items)
    return list(items[start:start + limit]), start + limit < len(items)
