"""Shop backend: the domain event feed, in commit order."""

from __future__ import annotations

from litestar import get
from litestar.params import Parameter

from application.use_cases.event_feed import MAX_PAGE, ListEvents
from entrypoints.http.controllers._audience import AdminController
from entrypoints.http.controllers._openapi import ADMIN_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.events import EventList, event_list

# Every event store numbers its outbox in commit order and hands the number out as the cursor. Anything else is
# refused here with a 400, before a store could fail on it (the stores parse it with int()).
CURSOR = r"^[0-9]{1,18}$"


class AdminEventsController(AdminController):
    path = "/api/v1/admin/events"

    @get("/", summary="Domain events after a cursor", responses=ADMIN_ERRORS)
    async def list_after(
        self,
        list_events: Injected[ListEvents],
        after: str | None = Parameter(default=None, pattern=CURSOR, description="a next_cursor this feed gave"),
        limit: int = Parameter(default=100, ge=1, le=MAX_PAGE),
    ) -> EventList:
        return event_list(await list_events(after, limit))
