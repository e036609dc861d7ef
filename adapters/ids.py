from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


class SortableIdGenerator:
    """IdGenerator port: prefix + ULID-style id (48-bit ms time + 80 random bits), sortable by creation."""

    def new_id(self, prefix: str) -> str:
        millis = time.time_ns() // 1_000_000
        rand = int.from_bytes(os.urandom(10), "big")
        return f"{prefix}_{_encode(millis, 10)}{_encode(rand, 16)}"


class SequentialIdGenerator:
    """IdGenerator port for tests: readable, deterministic ids (pay_000001, ...)."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}_{n:06d}"
