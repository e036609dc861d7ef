"""Random letters and digits for the sandbox's ids and client secrets, shaped like Stripe's."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Byte b -> the letter _ALPHABET[b % 62], for bytes.translate: one C call for the whole string, where a generator
# over the bytes cost about 5 us per id (three ids and a client secret per created intent).
_LETTER_OF_BYTE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))


def random_letters(count: int) -> str:
    """`count` letters and digits from one read of the system's randomness (a read per letter, as
    secrets.choice does, cost about 1 us each). 256 is not a multiple of 62, so the letters are very slightly
    uneven: each still carries about 5.9 random bits."""
    return secrets.token_bytes(count).translate(_LETTER_OF_BYTE).decode("ascii")
