"""What the sandbox gateway holds for one account, counted: the gateway's truth that hexpay must match.

Tests count here, never in hexpay's own tables: "exactly one intent, one charge, one refund" is a statement
about the money at the gateway. It reads the SandboxNetwork's state directly (a test may look inside the bank).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sandbox import SandboxNetwork


@dataclass(frozen=True)
class IntentBooks:
    gateway_payment_id: str
    payment_id: str | None  # hexpay's id, from the intent's metadata
    status: str
    amount: int
    amount_received: int
    amount_refunded: int  # by refunds still standing (a failed refund gave the money back)
    refunds: int
    disputed: bool


class GatewayLedger:
    def __init__(self, network: SandboxNetwork, account_id: str) -> None:
        self._network, self._account_id = network, account_id

    def _account(self):  # type: ignore[no-untyped-def]
        return self._network._accounts[self._account_id]  # a test may read the bank's private books

    def _payment_methods(self):  # type: ignore[no-untyped-def]
        vault = getattr(self._network, "vault", None)
        return (vault._methods if vault is not None else self._network._payment_methods).values()

    def intents(self) -> list[IntentBooks]:
        books = []
        for intent in self._account().intents.values():
            charge = intent.latest_charge
            books.append(IntentBooks(
                gateway_payment_id=intent.id,
                payment_id=intent.metadata.get("hexpay_payment_id"),
                status=intent.status,
                amount=intent.amount,
                amount_received=intent.amount_received,
                amount_refunded=charge.amount_refunded if charge else 0,
                refunds=len(charge.refunds) if charge else 0,
                disputed=bool(charge and charge.disputed),
            ))
        return books

    def intents_of(self, payment_id: str) -> list[IntentBooks]:
        return [i for i in self.intents() if i.payment_id == payment_id]

    def successful_charges(self, payment_id: str | None = None) -> int:
        """Charges that took (or hold) the shopper's money. One intent succeeds at most once, so its latest
        charge is its only successful one."""
        count = 0
        for intent in self._account().intents.values():
            if payment_id is not None and intent.metadata.get("hexpay_payment_id") != payment_id:
                continue
            charge = intent.latest_charge
            if charge is not None and charge.failure is None:
                count += 1
        return count

    def money_taken(self) -> int:
        return sum(i.amount_received for i in self.intents())

    def refunds(self) -> list[tuple[str, int, str]]:
        """(gateway refund id, amount, status) of every refund at the gateway."""
        return [(r.id, r.amount, r.status) for r in self._account().refunds.values()]

    def customers(self) -> int:
        return len(self._account().customers)

    def attached_methods(self) -> int:
        account = self._account()
        return sum(1 for m in self._payment_methods()
                   if m.customer is not None and m.customer in account.customers)

    def disputes(self) -> list[tuple[str, str, int, str]]:
        """(dispute id, gateway payment id, amount, status)."""
        return [(d.id, d.payment_intent, d.amount, d.status) for d in self._account().disputes.values()]

    def refunds_of(self, gateway_payment_id: str) -> list[tuple[str, int, str]]:
        return [(r.id, r.amount, r.status) for r in self._account().refunds.values()
                if r.payment_intent == gateway_payment_id]
