"""header_of: the one header a layer in front of Litestar needs, from the raw ASGI headers."""

from __future__ import annotations

from typing import Any

from entrypoints.http.headers import header_of


def _scope(*headers: tuple[bytes, bytes]) -> Any:
    return {"type": "http", "headers": list(headers)}


def test_a_header_is_found_whatever_the_case_the_client_wrote_it_in() -> None:
    scope = _scope((b"Content-Type", b"application/json"), (b"IDEMPOTENCY-KEY", b"k-1"))
    assert header_of(scope, b"idempotency-key") == "k-1"
    assert header_of(scope, b"content-type") == "application/json"


def test_the_first_of_repeated_headers_counts_and_a_missing_one_is_none() -> None:
    scope = _scope((b"x-request-id", b"first"), (b"x-request-id", b"second"), (b"x-request-idx", b"other"))
    assert header_of(scope, b"x-request-id") == "first"
    assert header_of(scope, b"authorization") is None
    assert header_of(_scope((b"authorization-extra", b"Bearer x"),), b"authorization") is None


def test_values_are_latin_1_as_http_carries_them() -> None:
    assert header_of(_scope((b"x-note", "café".encode("latin-1")),), b"x-note") == "café"
