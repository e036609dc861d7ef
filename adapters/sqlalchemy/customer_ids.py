"""Which customer a reference names, remembered for the process's life.

A customer's reference and id never change and customers are never deleted, so once a reference's customer is
committed its id is the answer for good: a shopper's confirm, get payment and list of cards then ask the database
only for what can change. Only rows this transaction did not write itself are remembered (those are committed; a
customer inserted here may yet be rolled back). Bounded: past its size, it starts afresh (a miss costs one read).
"""

from __future__ import annotations

REMEMBERED = 65_536  # about 10 MiB of short strings: the shoppers active in a process at once, many times over


class CustomerIds:
    __slots__ = ("_ids", "_size")

    def __init__(self, size: int = REMEMBERED) -> None:
        self._ids: dict[str, str] = {}
        self._size = size

    def get(self, reference: str) -> str | None:
        return self._ids.get(reference)

    def remember(self, reference: str, customer_id: str) -> None:
        if len(self._ids) >= self._size:
            self._ids.clear()
        self._ids[reference] = customer_id
