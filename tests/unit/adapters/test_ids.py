"""Sortable ids: the letters are base32 (Crockford) of the time and the randomness, most significant first, so
ids sort by creation; the 10-bit lookup must give exactly the text of taking 5 bits at a time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.ids import _ALPHABET, SortableIdGenerator, _encode


def five_bits_at_a_time(value: int, length: int) -> str:
    letters = []
    for _ in range(length):
        value, rest = divmod(value, 32)
        letters.append(_ALPHABET[rest])
    return "".join(reversed(letters))


@given(st.sampled_from([10, 16]).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2 ** (5 * n) - 1))))
def test_the_lookup_encodes_as_five_bits_at_a_time(case: tuple[int, int]) -> None:
    length, value = case
    assert _encode(value, length) == five_bits_at_a_time(value, length)


@given(st.integers(0, 2**50 - 2))
def test_a_later_time_sorts_after(millis: int) -> None:
    assert _encode(millis, 10) < _encode(millis + 1, 10)


def test_ids_have_the_prefix_26_letters_and_never_repeat() -> None:
    ids = SortableIdGenerator()
    made = [ids.new_id("pay") for _ in range(2000)]
    assert all(re.fullmatch(r"pay_[0-9a-hjkmnp-tv-z]{26}", i) for i in made)
    assert len(set(made)) == len(made)


def test_each_random_letter_is_five_uniform_bits() -> None:
    # The random part is one letter per random byte: every letter must stand for exactly 8 of the 256 byte values.
    from adapters.ids import _LETTER_OF_BYTE

    assert sorted(_LETTER_OF_BYTE.count(ord(letter)) for letter in _ALPHABET) == [8] * 32
    assert set(_LETTER_OF_BYTE) == {ord(letter) for letter in _ALPHABET}


def test_ids_made_in_a_later_millisecond_sort_after(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = SortableIdGenerator()
    now = [1_700_000_000_000_000_000]
    monkeypatch.setattr("adapters.ids.time.time_ns", lambda: now[0])
    first = ids.new_id("pay")
    same_millisecond = ids.new_id("pay")
    now[0] += 1_000_000
    later = ids.new_id("pay")
    assert first[:14] == same_millisecond[:14] == f"pay_{_encode(1_700_000_000_000, 10)}"
    assert later[:14] == f"pay_{_encode(1_700_000_000_001, 10)}" and later > max(first, same_millisecond)
