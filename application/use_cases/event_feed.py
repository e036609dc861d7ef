"""The domain events in commit order, for the shop backend to follow."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports.repositories import StoredEvent
from application.ports.unit_of_work import UnitOfWorkFactory

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[StoredEvent]
    has_more: bool
    next_cursor: str | None


class ListEvents:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, after: str | None, limit: int) -> EventPage:
        limit = max(1, min(limit, MAX_PAGE))
        async with self._uow() as uow:
            rows = await uow.events.list_after(after, limit + 1)
        page = rows[:limit]
        next_cursor = page[-1].id if page else after
        return EventPage(events=page, has_more=len(rows) > limit, next_cursor=next_cursor)
