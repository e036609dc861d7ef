"""Stripe's idempotency keys, per account: the same key and parameters replay the first answer.

As at Stripe: a key names one request for 24 hours; reusing it with other parameters (or on another endpoint) is
an idempotency_error; a card decline is an answer and is replayed too, whereas a request refused before it began
(a validation error, an unknown object) saves nothing, so it can be corrected and sent again with the same key.
Answers older than a key's lifetime are dropped as new ones come (oldest first), so a sandbox that runs for days
keeps one day of answers, not every answer it ever gave.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from adapters.sandbox.errors import SandboxApiError, idempotency_error

KEY_LIFETIME_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass(slots=True)
class _Answer:
    fingerprint: bytes
    saved_at: int
    result: bytes | None  # the answer as JSON: each replay decodes a copy of its own
    error: SandboxApiError | None


# The parameters' fingerprint and the kept answer are msgspec JSON: json.dumps and copy.deepcopy took a third of
# the sandbox's CPU on every create and confirm.
_fingerprint = msgspec.json.Encoder(enc_hook=str, order="sorted")
_answer = msgspec.json.Encoder()


class IdempotencyCache:
    def __init__(self) -> None:
        # In the order they were saved, the oldest first (an OrderedDict: taking from the front is O(1) however
        # many were taken before, where a dict would rescan the removed ones).
        self._answers: OrderedDict[str, _Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def _forget_expired(self, now: int) -> None:
        while self._answers:
            oldest = next(iter(self._answers.values()))
            if now - oldest.saved_at <= KEY_LIFETIME_SECONDS:
                return
            self._answers.popitem(last=False)

    def _save(self, key: str, answer: _Answer) -> None:
        self._answers.pop(key, None)  # a key saved again goes to the back, with its new time
        self._answers[key] = answer

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
        fingerprint = _fingerprint.encode([operation, params])
        self._forget_expired(now)
        answer = self._answers.get(key)
        if answer is not None and now - answer.saved_at > KEY_LIFETIME_SECONDS:
            answer = None  # saved out of order (the clock went back) and expired since
        if answer is not None:
            if answer.fingerprint != fingerprint:
                raise idempotency_error(key)
            if answer.error is not None:
                raise answer.error.clone()
            return msgspec.json.decode(answer.result) if answer.result is not None else {}
        try:
            result = perform()
        except SandboxApiError as error:
            if error.type == "card_error":
                self._save(key, _Answer(fingerprint, now, None, error.clone()))
            raise
        self._save(key, _Answer(fingerprint, now, _answer.encode(result), None))
        return result
