"""The domain event feed, in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ports.repositories import StoredEvent
from application.use_cases.event_feed import EventPage
from entrypoints.http.schemas.common import Out, rfc3339


class EventOut(Out):
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class EventList(Out):
    data: list[EventOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"


def event_out(event: StoredEvent) -> EventOut:
    return EventOut(id=event.id, type=event.type, occurred_at=rfc3339(event.occurred_at), data=dict(event.data))


def event_list(page: EventPage) -> EventList:
    return EventList(data=[event_out(e) for e in page.events], has_more=page.has_more, next_cursor=page.next_cursor)
