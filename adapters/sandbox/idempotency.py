"""Stripe's idempotency keys, per account: the same key and parameters replay the first answer.

As at Stripe: a key names one request for 24 hours; reusing it with other parameters (or on another endpoint) is
an idempotency_error; a card decline is an answer and is replayed too, whereas a request refused before it began
(a validation error, an unknown object) saves nothing, so it can be corrected and sent again with the same key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.sandbox.errors import SandboxApiError, idempotency_error

KEY_LIFETIME_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass(slots=True)
class _Answer:
    fingerprint: str
    saved_at: int
    result: dict[str, Any] | None
    error: SandboxApiError | None


class IdempotencyCache:
    def __init__(self) -> None:
        self._answers: dict[str, _Answer] = {}

    def run(
        self,
        key: str | None,
        operation: str,
        params: dict[str, Any],
        now: int,
        perform: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        if key is None:
            return perform()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise SandboxApiError(400, "invalid_request_error", "Idempotency-Key must be 1-255 characters.",
                                  code="idempotency_key_invalid")
        fingerprint = json.dumps([operation, params], sort_keys=True, default=str)
        answer = self._answers.get(key)
        if answer is not None and now - answer.saved_at > KEY_LIFETIME_SECONDS:
            answer = None
        if answer is not None:
            if answer.fingerprint != fingerprint:
                raise idempotency_error(key)
            if answer.error is not None:
                raise answer.error.clone()
            return copy.deepcopy(answer.result) if answer.result is not None else {}
        try:
            result = perform()
        except SandboxApiError as error:
            if error.type == "card_error":
                self._answers[key] = _Answer(fingerprint, now, None, error.clone())
            raise
        self._answers[key] = _Answer(fingerprint, now, copy.deepcopy(result), None)
        return result
