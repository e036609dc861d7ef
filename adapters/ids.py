from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


# Two letters per 10 bits, looked up: the same text as taking 5 bits at a time, at a fifth of the CPU.
_PAIRS = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]


def _encode(value: int, length: int) -> str:
    """`value` in `length` (even) base32 letters, most significant first, zero-padded on the left."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(5 * length - 10, -1, -10)])


# Byte b -> the letter for its low five bits, for bytes.translate: 256 is a multiple of 32, so each random byte
# gives one letter of exactly 5 uniform random bits, in one C call for the 16 letters of an id.
_LETTER_OF_BYTE = bytes(ord(_ALPHABET[b & 31]) for b in range(256))


class SortableIdGenerator:
    """IdGenerator port: prefix + ULID-style id (48-bit ms time + 80 random bits), sortable by creation."""

    def __init__(self) -> None:
        self._stamp = (-1, "")  # the last millisecond and its letters, as one value so threads never mix them

    def new_id(self, prefix: str) -> str:
        millis = time.time_ns() // 1_000_000
        stamp = self._stamp
        if stamp[0] != millis:  # a request makes several ids within a millisecond: the time's letters once
            stamp = self._stamp = (millis, _encode(millis, 10))
        return f"{prefix}_{stamp[1]}{os.urandom(16).translate(_LETTER_OF_BYTE).decode('ascii')}"


class SequentialIdGenerator:
    """IdGenerator port for tests: readable, deterministic ids (pay_000001, ...)."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}_{n:06d}"
