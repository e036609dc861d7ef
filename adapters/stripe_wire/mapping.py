"""Stripe JSON objects (plain dicts, as sent in webhooks or returned by the API) -> gateway-neutral snapshots.

Tolerant of what it does not need: unknown fields are ignored, optional fields may be missing or null, expandable
fields may be an id or the expanded object. Strict on what settlement relies on (status, amount, currency): a
missing or unknown value there raises MalformedStripeObject instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from application.ports.gateway import GatewayEvent, GatewayPaymentMethod
from domain.dispute import DisputeSnapshot
from domain.errors import InvalidGatewayRequest
from domain.payment import NextAction, PaymentError, PaymentSnapshot, PaymentStatus
from domain.payment_method import Card
from domain.refund import RefundSnapshot, RefundStatus

# Metadata keys hexpay writes on Stripe objects, so a webhook leads back to hexpay's records.
PAYMENT_ID_KEY = "hexpay_payment_id"
ORDER_ID_KEY = "hexpay_order_id"
REFUND_ID_KEY = "hexpay_refund_id"
CUSTOMER_ID_KEY = "hexpay_customer_id"

PAYMENT_INTENT_EVENTS = frozenset({
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
})
CHARGE_REFUNDED_EVENTS = frozenset({"charge.refunded"})
REFUND_EVENTS = frozenset({"charge.refund.updated", "refund.created", "refund.updated", "refund.failed"})
DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.closed"})
HANDLED_EVENT_TYPES = PAYMENT_INTENT_EVENTS | CHARGE_REFUNDED_EVENTS | REFUND_EVENTS | DISPUTE_EVENTS

# Statuses of API versions before 2019-02-11, which an old endpoint configuration may still send.
_LEGACY_PAYMENT_STATUSES = {"requires_source": "requires_payment_method", "requires_source_action": "requires_action"}
# Each status Stripe sends -> hexpay's, looked up directly (calling the enum with a value runs Python code each time:
# a tenth of mapping an intent).
_PAYMENT_STATUSES: dict[Any, PaymentStatus] = {
    **{status.value: status for status in PaymentStatus},
    **{legacy: PaymentStatus(current) for legacy, current in _LEGACY_PAYMENT_STATUSES.items()},
}


def _is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a dict (what both adapters hand over) at once, null at once, any other value by the slower ABC
    check."""
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


class MalformedStripeObject(InvalidGatewayRequest):
    """A Stripe object lacks, or has an unknown value in, a field settlement depends on."""


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _require(obj: Mapping[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedStripeObject(f"{obj.get('object', 'object')} has no valid {key!r}")
    return value


def _id_of(value: Any) -> str | None:
    """An expandable field: an id string, an expanded object, or null."""
    if isinstance(value, str):
        return value
    if _is_object(value) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _metadata(obj: Mapping[str, Any], key: str) -> str | None:
    metadata = obj.get("metadata")
    if _is_object(metadata):
        value = metadata.get(key)
        return value if isinstance(value, str) and value else None
    return None


def _int(obj: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def payment_status(value: Any) -> PaymentStatus:
    status = _PAYMENT_STATUSES.get(value) if isinstance(value, str) else None
    if status is None:
        raise MalformedStripeObject(f"unknown payment_intent status {value!r}")
    return status


def payment_error(error: Any) -> PaymentError | None:
    if not _is_object(error):
        return None
    def text(key: str) -> str | None:
        value = error.get(key)
        return value if isinstance(value, str) else None
    return PaymentError(code=text("code"), decline_code=text("decline_code"), message=text("message"))


def next_action(action: Any) -> NextAction | None:
    """3-D Secure: a URL hexpay can hand to any frontend, or a handoff to Stripe.js (handleNextAction)."""
    if not _is_object(action):
        return None
    if action.get("type") == "redirect_to_url":
        redirect = action.get("redirect_to_url")
        url = redirect.get("url") if _is_object(redirect) else None
        if isinstance(url, str) and url:
            return NextAction(type="redirect_to_url", url=url)
    # use_stripe_sdk and every other kind (verify_with_microdeposits, display_*...) need Stripe's client SDK
    return NextAction(type="use_sdk")


def _charges(intent: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The intent's charges we can see: latest_charge when expanded, else the pre-2022 `charges` list."""
    latest = intent.get("latest_charge")
    if _is_object(latest):
        return [latest]
    listed = intent.get("charges")
    if _is_object(listed) and isinstance(listed.get("data"), list):
        return [c for c in listed["data"] if _is_object(c)]
    return []


def payment_snapshot(intent: Mapping[str, Any], observed_at: datetime) -> PaymentSnapshot:
    status = payment_status(intent.get("status"))
    amount = _require(intent, "amount", int)
    charges = _charges(intent)
    if "amount_received" in intent:
        received = _int(intent, "amount_received")
    else:
        # Stripe always sends it; some Stripe-compatible servers (localstripe) do not, so derive it from the charge.
        captured = [_int(c, "amount_captured", _int(c, "amount")) for c in charges if c.get("status") == "succeeded"]
        received = (sum(captured) or amount) if status is PaymentStatus.SUCCEEDED else 0
    if "amount_capturable" in intent:
        capturable = _int(intent, "amount_capturable")
    else:
        capturable = amount if status is PaymentStatus.REQUIRES_CAPTURE else 0
    return PaymentSnapshot(
        status=status,
        amount=amount,
        currency=_require(intent, "currency", str).lower(),
        amount_received=received,
        amount_capturable=capturable,
        observed_at=observed_at,
        last_error=payment_error(intent.get("last_payment_error")),
        next_action=next_action(intent.get("next_action")) if status is PaymentStatus.REQUIRES_ACTION else None,
        amount_refunded=sum(_int(c, "amount_refunded") for c in charges),
        gateway_payment_id=_id_of(intent.get("id")),
        gateway_payment_method_id=_id_of(intent.get("payment_method")),
    )


def refund_status(value: Any) -> RefundStatus:
    try:
        return RefundStatus(value)
    except ValueError as exc:
        raise MalformedStripeObject(f"unknown refund status {value!r}") from exc


def refund_snapshot(refund: Mapping[str, Any], observed_at: datetime) -> RefundSnapshot:
    failure = refund.get("failure_reason")
    reason = refund.get("reason")
    return RefundSnapshot(
        gateway_refund_id=_require(refund, "id", str),
        amount=_require(refund, "amount", int),
        currency=_require(refund, "currency", str).lower(),
        status=refund_status(refund.get("status")),
        observed_at=observed_at,
        gateway_payment_id=_id_of(refund.get("payment_intent")),
        refund_id=_metadata(refund, REFUND_ID_KEY),
        reason=reason if isinstance(reason, str) else None,
        failure_reason=failure if isinstance(failure, str) else None,
    )


def charge_refund_snapshots(charge: Mapping[str, Any], observed_at: datetime) -> tuple[RefundSnapshot, ...]:
    """The refunds listed on a charge. API versions from 2022-11-15 no longer include the list: then it is empty
    and the event only says which intent to re-read."""
    listed = charge.get("refunds")
    if not _is_object(listed) or not isinstance(listed.get("data"), list):
        return ()
    payment_id = _id_of(charge.get("payment_intent"))
    snapshots = []
    for refund in listed["data"]:
        if _is_object(refund):
            snapshot = refund_snapshot(refund, observed_at)
            if snapshot.gateway_payment_id is None and payment_id is not None:
                snapshot = _with_payment(snapshot, payment_id)
            snapshots.append(snapshot)
    return tuple(snapshots)


def _with_payment(snapshot: RefundSnapshot, gateway_payment_id: str) -> RefundSnapshot:
    return RefundSnapshot(
        gateway_refund_id=snapshot.gateway_refund_id, amount=snapshot.amount, currency=snapshot.currency,
        status=snapshot.status, observed_at=snapshot.observed_at, gateway_payment_id=gateway_payment_id,
        refund_id=snapshot.refund_id, reason=snapshot.reason, failure_reason=snapshot.failure_reason,
    )


def dispute_snapshot(dispute: Mapping[str, Any], observed_at: datetime) -> DisputeSnapshot:
    reason = dispute.get("reason")
    return DisputeSnapshot(
        gateway_dispute_id=_require(dispute, "id", str),
        amount=_require(dispute, "amount", int),
        currency=_require(dispute, "currency", str).lower(),
        status=_require(dispute, "status", str),
        observed_at=observed_at,
        reason=reason if isinstance(reason, str) else None,
        gateway_payment_id=_id_of(dispute.get("payment_intent")),
    )


def card(payment_method: Mapping[str, Any]) -> Card:
    details = payment_method.get("card")
    if not _is_object(details):
        raise MalformedStripeObject("payment_method has no card")
    brand = details.get("display_brand") or details.get("brand") or "unknown"
    return Card(
        brand=str(brand).lower(),
        last4=_require(details, "last4", str),
        exp_month=_require(details, "exp_month", int),
        exp_year=_require(details, "exp_year", int),
    )


def gateway_payment_method(payment_method: Mapping[str, Any]) -> GatewayPaymentMethod:
    return GatewayPaymentMethod(
        gateway_payment_method_id=_require(payment_method, "id", str),
        card=card(payment_method),
        gateway_customer_id=_id_of(payment_method.get("customer")),
    )


def gateway_event(event: Mapping[str, Any]) -> GatewayEvent:
    """A verified event. Types hexpay does not act on come back with handled=False, to be recorded and ignored."""
    event_id = _require(event, "id", str)
    event_type = _require(event, "type", str)
    occurred_at = from_unix(_require(event, "created", int))
    data = event.get("data")
    obj = data.get("object") if _is_object(data) else None
    if event_type not in HANDLED_EVENT_TYPES or not _is_object(obj):
        return GatewayEvent(event_id=event_id, type=event_type, occurred_at=occurred_at, handled=False)
    payment_id = _metadata(obj, PAYMENT_ID_KEY)
    if event_type in PAYMENT_INTENT_EVENTS:
        snapshot = payment_snapshot(obj, occurred_at)
        return GatewayEvent(event_id=event_id, type=event_type, occurred_at=occurred_at, payment=snapshot,
                            gateway_payment_id=snapshot.gateway_payment_id, payment_id=payment_id)
    if event_type in CHARGE_REFUNDED_EVENTS:
        return GatewayEvent(event_id=event_id, type=event_type, occurred_at=occurred_at,
                            refunds=charge_refund_snapshots(obj, occurred_at),
                            gateway_payment_id=_id_of(obj.get("payment_intent")), payment_id=payment_id)
    if event_type in REFUND_EVENTS:
        refund = refund_snapshot(obj, occurred_at)
        return GatewayEvent(event_id=event_id, type=event_type, occurred_at=occurred_at, refunds=(refund,),
                            gateway_payment_id=refund.gateway_payment_id, payment_id=payment_id)
    dispute = dispute_snapshot(obj, occurred_at)
    return GatewayEvent(event_id=event_id, type=event_type, occurred_at=occurred_at, dispute=dispute,
                        gateway_payment_id=dispute.gateway_payment_id, payment_id=payment_id)
