"""The sandbox's random letters: the translated bytes must be exactly the letters of taking each byte modulo 62,
the rule the table was built for, and only letters and digits (Stripe's ids carry no '-' or '_')."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from adapters.sandbox import randomness
from adapters.sandbox.randomness import _ALPHABET, _LETTER_OF_BYTE, random_letters


@given(st.binary(max_size=64))
def test_the_table_gives_the_letter_of_each_byte_modulo_62(raw: bytes) -> None:
    assert raw.translate(_LETTER_OF_BYTE).decode("ascii") == "".join(_ALPHABET[b % 62] for b in raw)


@given(st.integers(min_value=0, max_value=64))
def test_random_letters_are_count_letters_and_digits(count: int) -> None:
    letters = random_letters(count)
    assert len(letters) == count
    assert set(letters) <= set(string.ascii_letters + string.digits)


def test_random_letters_read_the_systems_randomness(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(randomness.secrets, "token_bytes", lambda count: bytes(range(count)))
    assert random_letters(5) == "abcde"
    monkeypatch.setattr(randomness.secrets, "token_bytes", lambda count: bytes([61, 62, 255][:count]))
    assert random_letters(3) == "9a" + _ALPHABET[255 % 62]
