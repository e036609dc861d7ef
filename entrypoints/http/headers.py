"""One request header read straight from the raw ASGI headers: the layers in front of Litestar each need one
(the credentials, the Idempotency-Key, the caller's request id) and decoding all of them per layer cost more than
the lookup."""

from __future__ import annotations

from litestar.types import Scope


def header_of(scope: Scope, name: bytes) -> str | None:
    """The first value of the header `name` (given in lower case), or None; the other headers stay undecoded."""
    size = len(name)
    for key, value in scope["headers"]:
        if len(key) == size and key.lower() == name:
            return str(value.decode("latin-1"))
    return None
