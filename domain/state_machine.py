"""The one rule every state machine follows: a move the table does not allow raises and changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from domain.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)


def check_move(machine: str, table: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    """Return target when the table allows current -> target, else raise IllegalTransition."""
    if target not in table.get(current, frozenset()):
        raise IllegalTransition(machine, current.value, target.value)
    return target
