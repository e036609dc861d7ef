"""Stripe's published example objects (copied from stripe/openapi fixtures3.json into tests/data/stripe)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "stripe"
_CACHE: dict[str, dict[str, Any]] = {}


def stripe_object(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of one example object with top-level fields replaced."""
    if name not in _CACHE:
        _CACHE[name] = json.loads((DATA / f"{name}.json").read_text())
    obj = copy.deepcopy(_CACHE[name])
    obj.update(changes)
    return obj


def stripe_event(event_type: str, obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The example event wrapping obj, as Stripe would send it for event_type."""
    return stripe_object("event", type=event_type, data={"object": obj}, **changes)


@pytest.fixture
def example() -> Callable[..., dict[str, Any]]:
    return stripe_object
