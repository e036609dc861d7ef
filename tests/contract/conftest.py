"""The `harness` fixture of the gateway contract suite: one run of every case per gateway adapter.

A harness module (tests/contract/<name>_harness.py, or any importable module) defines `make_harness()`, either an
async generator yielding one GatewayHarness (set up before the yield, torn down after) or a coroutine returning
one (closed with its `aclose()` coroutine when it has one). The built-in adapters are "sandbox" and "stripe"
(on localstripe). A team testing its own adapter writes one such module and names it in
HEXPAY_GATEWAY_HARNESSES (comma-separated module paths): nothing else in the suite changes.

A harness module that does not exist yet is a missing service, not a limit of the adapter: it goes through
skip_or_fail, so CI fails until it is written.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest

from tests.conftest import skip_or_fail
from tests.contract.gateway_harness import GatewayHarness

BUILT_IN = {"sandbox": "tests.contract.sandbox_harness", "stripe": "tests.contract.stripe_harness"}
EXTRA = [name.strip() for name in os.environ.get("HEXPAY_GATEWAY_HARNESSES", "").split(",") if name.strip()]
HARNESSES = {**BUILT_IN, **{module: module for module in EXTRA}}


def _factory(module_name: str) -> Callable[[], Any]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the harness exists but something it imports is missing: a real error
        skip_or_fail(f"{module_name} does not exist yet, so this gateway adapter cannot run the contract suite")
        raise
    factory = getattr(module, "make_harness", None)
    if factory is None:
        pytest.fail(f"{module_name} defines no make_harness()")
    return factory  # type: ignore[no-any-return]


@pytest.fixture(params=list(HARNESSES))
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[GatewayHarness]:
    made: Any = _factory(HARNESSES[request.param])()
    if inspect.isasyncgen(made):
        try:
            yield cast(GatewayHarness, await anext(made))
        finally:
            await made.aclose()
        return
    built = await made
    try:
        yield built
    finally:
        close = getattr(built, "aclose", None)
        if close is not None:
            await close()
