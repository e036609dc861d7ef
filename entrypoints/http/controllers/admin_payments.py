"""Shop backend: payments (capture, cancel, refund) and reconciliation."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from application.use_cases.payments import CancelPayment, CapturePayment, GetPayment
from application.use_cases.reconcile import Reconcile
from application.use_cases.refunds import RefundPayment
from entrypoints.http.controllers._audience import AdminController
from entrypoints.http.controllers._openapi import ADMIN_ERRORS, GATEWAY_ERRORS
from entrypoints.http.dependencies import Injected
from entrypoints.http.schemas.payments import (
    CaptureIn,
    PaymentOut,
    ReconcileOut,
    RefundIn,
    RefundOut,
    payment_out,
    refund_command,
    refund_out,
)


class AdminPaymentsController(AdminController):
    path = "/api/v1/admin/payments"

    @get("/{payment_id:str}", summary="Get a payment", responses=ADMIN_ERRORS)
    async def get_one(self, payment_id: FromPath[str], get_payment: Injected[GetPayment]) -> PaymentOut:
        return payment_out(await get_payment(payment_id))

    @post(
        "/{payment_id:str}/capture/",
        status_code=200,
        responses={**ADMIN_ERRORS, **GATEWAY_ERRORS},
        summary="Capture an authorized payment (all of it, or `amount`)",
    )
    async def capture(
        self,
        payment_id: FromPath[str],
        capture_payment: Injected[CapturePayment],
        data: JSONBody[CaptureIn | None] = None,
    ) -> PaymentOut:
        return payment_out(await capture_payment(payment_id, data.amount if data else None))

    @post(
        "/{payment_id:str}/cancel/",
        status_code=200,
        responses={**ADMIN_ERRORS, **GATEWAY_ERRORS},
        summary="Cancel a payment",
    )
    async def cancel(self, payment_id: FromPath[str], cancel_payment: Injected[CancelPayment]) -> PaymentOut:
        return payment_out(await cancel_payment(payment_id))

    @post(
        "/{payment_id:str}/refunds/",
        status_code=201,
        responses={**ADMIN_ERRORS, **GATEWAY_ERRORS},
        summary="Refund a succeeded payment (what is still refundable, or `amount`)",
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        payment_id: FromPath[str],
        refund_payment: Injected[RefundPayment],
        data: JSONBody[RefundIn | None] = None,
    ) -> RefundOut:
        # The Idempotency-Key names the refund: a retry after a 5xx (which the idempotency layer runs afresh)
        # resubmits the refund reserved the first time instead of paying out a second one.
        key = request.headers.get("idempotency-key")
        return refund_out(await refund_payment(refund_command(payment_id, data, key)))


class AdminReconcileController(AdminController):
    path = "/api/v1/admin/reconcile"

    @post(
        "/", status_code=200, summary="Re-read from the gateway what stayed non-final too long", responses=ADMIN_ERRORS
    )
    async def reconcile_now(self, reconcile: Injected[Reconcile]) -> ReconcileOut:
        result = await reconcile()
        return ReconcileOut(checked=result.checked, changed=result.changed, failed=result.failed)
