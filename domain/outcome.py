"""What applying one gateway report did."""

from __future__ import annotations

from enum import StrEnum


class SettlementOutcome(StrEnum):
    APPLIED = "applied"  # the report moved the aggregate
    UNCHANGED = "unchanged"  # the aggregate already reflected it (a duplicate)
    STALE = "stale"  # older than what is known, or contradicts a final state: recorded and ignored
    ANOMALY = "anomaly"  # amount or currency disagree: a forged or misrouted report, settles nothing
