from __future__ import annotations

from typing import Protocol


class SecretBox(Protocol):
    """Authenticated encryption of credentials at rest. open() raises ValueError on a tampered token."""

    def seal(self, plaintext: str) -> str: ...

    def open(self, token: str) -> str: ...

    def seal_bytes(self, plaintext: bytes) -> bytes:
        """A value sealed once and opened rarely (a stored answer): binary, for a bytes column, and not remembered
        as seal() and open() remember theirs."""
        ...

    def open_bytes(self, sealed: bytes) -> bytes:
        """What seal_bytes sealed; ValueError for anything else, a token of seal() included."""
        ...
