"""Gaps between localstripe 1.15 and Stripe, filled inside the localstripe test process (never imported by hexpay).

Each patch makes localstripe answer a request as Stripe's API reference and test-card table say Stripe answers it,
where localstripe refuses the request or answers differently. What is not patched here is declared as a missing
capability by tests/contract/stripe_harness.py instead. Applied before localstripe.server is imported, so its
routes are built on the patched functions.
"""

from __future__ import annotations

from typing import Any

# Stripe's test cards and how Stripe declines them when charged (docs: testing, "Declined payments").
# localstripe declines 0002 and 9995 at attach only, and never gives a decline_code.
_DECLINE_CODES = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000341": "generic_decline",
}


def apply() -> None:
    from localstripe import resources
    from localstripe.errors import UserError

    R = resources

    def reroute(url: str, func: Any) -> None:
        R.extra_apis[:] = [(m, u, func if u == url else f) for m, u, f in R.extra_apis]

    def card_number(payment_method_id: str | None) -> str | None:
        if not payment_method_id:
            return None
        return getattr(R.PaymentMethod._api_retrieve(payment_method_id), "_card_number", None)

    # Disk dump: every write pickles the whole store to /tmp/localstripe.pickle; tests need none of it, and two
    # sessions running at once would read each other's data.
    R.Store.dump_to_disk = lambda self: None

    # PaymentIntent parameters Stripe accepts and localstripe refuses ("Unexpected ...").
    intent_init = R.PaymentIntent.__init__

    def intent_init_accepting_stripe_params(self: Any, setup_future_usage: Any = None, description: Any = None,
                                            return_url: Any = None, **kwargs: Any) -> None:
        intent_init(self, **kwargs)
        self.setup_future_usage = setup_future_usage
        self.description = description

    R.PaymentIntent.__init__ = intent_init_accepting_stripe_params

    # Confirm with a payment_method (localstripe: 500 "Not implemented"), including a new attempt after a decline.
    confirm = R.PaymentIntent._api_confirm.__func__

    def confirm_with_payment_method(cls: Any, id: Any, payment_method: Any = None, return_url: Any = None,
                                    **kwargs: Any) -> Any:
        if payment_method is not None:
            intent = cls._api_retrieve(id)
            if intent._canceled or (intent.latest_charge is not None and intent.latest_charge.status != "failed"):
                raise UserError(400, "This PaymentIntent's payment_method could not be updated.")
            R.PaymentMethod._api_retrieve(payment_method)  # 404 when unknown, as at Stripe
            intent.payment_method = payment_method
            intent.latest_charge = None
            intent._authentication_failed = False
        return confirm(cls, id, **kwargs)

    R.PaymentIntent._api_confirm = classmethod(confirm_with_payment_method)
    reroute("/v1/payment_intents/{id}/confirm", R.PaymentIntent._api_confirm)

    # Declines at payment time with Stripe's decline_code, for the cards Stripe declines when charged.
    charging_is_declined = R.PaymentMethod._charging_is_declined

    def charging_is_declined_as_at_stripe(self: Any) -> bool:
        return bool(charging_is_declined(self)) or getattr(self, "_card_number", None) in _DECLINE_CODES

    R.PaymentMethod._charging_is_declined = charging_is_declined_as_at_stripe

    set_auth_failure = R.Charge._set_auth_failure

    def set_auth_failure_with_decline_code(self: Any) -> None:
        set_auth_failure(self)
        self._decline_code = _DECLINE_CODES.get(card_number(self.payment_method) or "")

    R.Charge._set_auth_failure = set_auth_failure_with_decline_code

    def raise_failure_with_decline_code(self: Any) -> None:
        error = {"code": self.failure_code, "charge": self.id, "type": "card_error"}
        if getattr(self, "_decline_code", None):
            error["decline_code"] = self._decline_code
        raise UserError(402, self.failure_message, error)

    R.Charge._raise_failure = raise_failure_with_decline_code

    last_payment_error = R.PaymentIntent.last_payment_error.fget

    def last_payment_error_with_decline_code(self: Any) -> Any:
        error = last_payment_error(self)
        decline_code = getattr(self.latest_charge, "_decline_code", None) if self.latest_charge else None
        if error is not None and decline_code and not self._authentication_failed:
            error = {**error, "decline_code": decline_code, "type": "card_error"}
        return error

    R.PaymentIntent.last_payment_error = property(last_payment_error_with_decline_code)

    attach = R.PaymentMethod._api_attach.__func__

    def attach_with_decline_code(cls: Any, id: Any, customer: Any = None, **kwargs: Any) -> Any:
        try:
            return attach(cls, id, customer=customer, **kwargs)
        except UserError as exc:
            decline_code = _DECLINE_CODES.get(card_number(id) or "") if exc.code == 402 else None
            if decline_code:
                exc.body["error"]["decline_code"] = decline_code
            raise

    R.PaymentMethod._api_attach = classmethod(attach_with_decline_code)
    reroute("/v1/payment_methods/{id}/attach", R.PaymentMethod._api_attach)

    # Payment method rules: a card belongs to one customer; detaching is permanent; a customer's default must be
    # one of its own cards. localstripe allows all of these.
    def usable(payment_method_id: str) -> Any:
        method = R.PaymentMethod._api_retrieve(payment_method_id)
        if getattr(method, "_detached", False):
            raise UserError(400, f"The PaymentMethod {payment_method_id} was detached from a Customer and cannot be "
                                 "used again.")
        return method

    def attach_once(cls: Any, id: Any, customer: Any = None, **kwargs: Any) -> Any:
        method = usable(id)
        if method.customer is not None and method.customer != customer:
            raise UserError(400, "The payment method you provided has already been attached to a customer.")
        return attach_with_decline_code(cls, id, customer=customer, **kwargs)

    R.PaymentMethod._api_attach = classmethod(attach_once)
    reroute("/v1/payment_methods/{id}/attach", R.PaymentMethod._api_attach)

    detach = R.PaymentMethod._api_detach.__func__

    def detach_once(cls: Any, id: Any, **kwargs: Any) -> Any:
        if usable(id).customer is None:
            raise UserError(400, "The payment method you provided is not attached to a customer so detachment is "
                                 "impossible.")
        method = detach(cls, id, **kwargs)
        method._detached = True
        return method

    R.PaymentMethod._api_detach = classmethod(detach_once)
    reroute("/v1/payment_methods/{id}/detach", R.PaymentMethod._api_detach)

    def intent_init_with_usable_card(self: Any, payment_method: Any = None, **kwargs: Any) -> None:
        if payment_method is not None:
            usable(payment_method)
        intent_init_accepting_stripe_params(self, payment_method=payment_method, **kwargs)

    R.PaymentIntent.__init__ = intent_init_with_usable_card

    def confirm_with_usable_card(cls: Any, id: Any, payment_method: Any = None, **kwargs: Any) -> Any:
        if payment_method is not None:
            usable(payment_method)
        return confirm_with_payment_method(cls, id, payment_method=payment_method, **kwargs)

    R.PaymentIntent._api_confirm = classmethod(confirm_with_usable_card)
    reroute("/v1/payment_intents/{id}/confirm", R.PaymentIntent._api_confirm)

    customer_update = R.Customer._api_update.__func__

    def update_with_own_default(cls: Any, id: Any, **data: Any) -> Any:
        settings = data.get("invoice_settings")
        default = settings.get("default_payment_method") if isinstance(settings, dict) else None
        if default and usable(default).customer != id:
            raise UserError(400, f"The customer does not have a payment method with the ID {default}.")
        return customer_update(cls, id, **data)

    R.Customer._api_update = classmethod(update_with_own_default)

    # Partial capture: Stripe releases the uncaptured remainder (amount_captured < amount, nothing refunded);
    # localstripe books it as a refund and has no amount_captured.
    def capture_releasing_the_rest(self: Any, amount: Any, on_success: Any = None) -> None:
        amount = self.amount if amount is None else R.try_convert_to_int(amount)
        if not (type(amount) is int and 0 < amount <= self.amount and not self.captured
                and self.status == "succeeded"):
            raise UserError(400, "The amount to capture must be positive and at most the authorised amount.")
        self._amount_captured = amount

        def captured() -> None:
            self.captured = True
            if on_success:
                on_success()

        self._trigger_payment(on_success=captured)

    def amount_captured(self: Any) -> int:
        if not self.captured or self.status != "succeeded":
            return 0
        return int(getattr(self, "_amount_captured", None) or self.amount)

    R.Charge._capture = capture_releasing_the_rest
    R.Charge.amount_captured = property(amount_captured)

    # Refunds: Stripe refuses more than what remains, and a PaymentIntent without a charge (localstripe: 500).
    refund_init = R.Refund.__init__

    def refund_init_as_at_stripe(self: Any, charge: Any = None, payment_intent: Any = None, amount: Any = None,
                                 reason: Any = None, **kwargs: Any) -> None:
        if payment_intent is not None and charge is None:
            intent = R.PaymentIntent._api_retrieve(payment_intent)
            if intent.latest_charge is None:
                raise UserError(400, f"PaymentIntent {payment_intent} does not have a successful charge to refund.")
            charged = intent.latest_charge
        else:
            charged = R.Charge._api_retrieve(charge) if charge else None
        wanted = R.try_convert_to_int(amount)
        if charged is not None and charged.status == "succeeded":
            remaining = charged.amount_captured - charged.amount_refunded
            if remaining <= 0 or (type(wanted) is int and wanted > remaining):
                raise UserError(400, f"Refund amount ({wanted}) is greater than unrefunded amount on charge "
                                     f"({remaining}).")
            if wanted is None:
                amount = remaining
        refund_init(self, charge=charge, payment_intent=payment_intent, amount=amount, **kwargs)
        self.reason = reason

    R.Refund.__init__ = refund_init_as_at_stripe
