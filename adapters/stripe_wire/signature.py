"""Stripe's webhook signature scheme: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256>[,v1=...]`.

The signed message is f"{t}." followed by the raw body bytes. Several v1 values may appear (Stripe signs with every
secret of an endpoint while a secret is being rolled), and several secrets may be configured here (during our own
rotation): any pair that matches is enough. Unlike the SDK, which only rejects old timestamps, a timestamp too far
in the future is refused too: a signed body captured from a clock running ahead must not be replayable later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from domain.errors import InvalidSignature

SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE = 300  # seconds, both ways; Stripe's own default for the past
_SCHEME = "v1"


def _digest(payload: bytes, secret: str, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The header value Stripe would send for this body, signed with secret at timestamp."""
    return f"t={timestamp},{_SCHEME}={_digest(payload, secret, timestamp)}"


def signature_header(headers: Mapping[str, str]) -> str | None:
    """The Stripe-Signature header, whatever the case of its name (HTTP header names are case-insensitive)."""
    wanted = SIGNATURE_HEADER.lower()
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise InvalidSignature("signature timestamp is not an integer") from exc
        elif key == _SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise InvalidSignature("signature header has no timestamp")
    if not signatures:
        raise InvalidSignature("signature header has no v1 signature")
    return timestamp, signatures


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str] | str,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Raise InvalidSignature unless some v1 signature matches some secret within tolerance; return the timestamp.

    Messages never say which secret or signature came close: the caller may be probing.
    """
    if not header:
        raise InvalidSignature("missing Stripe-Signature header")
    candidates = [secrets] if isinstance(secrets, str) else [s for s in secrets if s]
    if not candidates:
        raise InvalidSignature("no webhook secret configured")
    timestamp, signatures = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("signature timestamp outside the tolerance")
    matched = False
    for secret in candidates:
        expected = _digest(payload, secret, timestamp)
        for signature in signatures:
            # compare every pair, without stopping early, so timing says nothing about which one matched
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise InvalidSignature("no signature matches")
    return timestamp
