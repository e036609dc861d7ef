from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.stripe_wire.signature import sign, signature_header, verify
from domain.errors import InvalidSignature

NOW = 1_767_225_600
SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
BODY = b'{"id": "evt_1", "object": "event"}'


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40), skew=st.integers(-300, 300))
def test_a_signed_body_verifies_within_the_tolerance(body: bytes, secret: str, skew: int) -> None:
    header = sign(body, secret, NOW + skew)
    assert verify(body, header, [secret], now=NOW) == NOW + skew


@given(body=st.binary(min_size=1, max_size=256), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_in_the_body_is_rejected(body: bytes, position: int, bit: int) -> None:
    header = sign(body, SECRET, NOW)
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ (1 << bit)]) + body[index + 1:]
    with pytest.raises(InvalidSignature):
        verify(tampered, header, SECRET, now=NOW)


def test_matches_stripes_published_scheme() -> None:
    # computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_x
    expected = "be8cb8325f2202445260a855532f967e30ad2a9394ce28da66ee02880ddcb661"
    assert sign(b"{}", "whsec_x", 1_700_000_000) == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize("skew", [301, -301, 3600, -86400])
def test_a_timestamp_more_than_300_seconds_old_or_ahead_is_rejected(skew: int) -> None:
    header = sign(BODY, SECRET, NOW + skew)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(BODY, header, SECRET, now=NOW)


def test_the_tolerance_boundary_is_inclusive() -> None:
    for skew in (300, -300):
        verify(BODY, sign(BODY, SECRET, NOW + skew), SECRET, now=NOW)


def test_any_configured_secret_verifies_during_rotation() -> None:
    header = sign(BODY, OLD_SECRET, NOW)
    assert verify(BODY, header, [SECRET, OLD_SECRET], now=NOW) == NOW
    with pytest.raises(InvalidSignature):
        verify(BODY, header, [SECRET], now=NOW)


def test_any_matching_v1_among_several_is_accepted() -> None:
    # Stripe signs with both secrets while an endpoint's secret is rolled: two v1 entries, plus a legacy v0.
    ours = sign(BODY, SECRET, NOW).split(",")[1]
    theirs = sign(BODY, "whsec_someone_else", NOW).split(",")[1]
    header = f"t={NOW},{theirs},v0=deadbeef,{ours}"
    assert verify(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"t={NOW}", "v1=abc", "t=soon,v1=abc", f"t={NOW},v0=abc", f"t={NOW},v1=abc"],
)
def test_missing_or_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify(BODY, header, SECRET, now=NOW)


def test_a_signature_made_for_another_timestamp_is_rejected() -> None:
    signature = sign(BODY, SECRET, NOW - 10).split(",")[1]
    with pytest.raises(InvalidSignature):
        verify(BODY, f"t={NOW},{signature}", SECRET, now=NOW)


def test_no_secret_configured_rejects_everything() -> None:
    with pytest.raises(InvalidSignature):
        verify(BODY, sign(BODY, "", NOW), [], now=NOW)


def test_the_header_is_found_whatever_its_case() -> None:
    assert signature_header({"stripe-signature": "x", "Content-Type": "a"}) == "x"
    assert signature_header({"STRIPE-SIGNATURE": "y"}) == "y"
    assert signature_header({"Content-Type": "a"}) is None


def test_agrees_with_the_stripe_sdk_both_ways() -> None:
    import stripe

    stripe.WebhookSignature.verify_header(BODY, sign(BODY, SECRET, NOW), SECRET, tolerance=None)
    sdk_header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, timestamp=NOW)
    assert verify(BODY, sdk_header, SECRET, now=NOW) == NOW
