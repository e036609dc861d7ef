from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """Clock port on the machine's UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Clock port for tests: time moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now
