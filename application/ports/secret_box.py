from __future__ import annotations

from typing import Protocol


class SecretBox(Protocol):
    """Authenticated encryption of credentials at rest. open() raises ValueError on a tampered token."""

    def seal(self, plaintext: str) -> str: ...

    def open(self, token: str) -> str: ...
