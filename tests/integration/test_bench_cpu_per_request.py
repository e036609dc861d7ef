"""bench.cpu_per_request end to end on Postgres, small: every scenario runs the real app to completion, every
request answered as it must be (the tool stops on any other answer), and reports a CPU figure per request."""

from __future__ import annotations

import pytest

from bench.bytecodes import Counts
from bench.cpu_per_request import measure

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("scenario", ["create_payment", "confirm_payment", "webhook"])
async def test_the_in_process_measurement_runs_each_scenario_to_the_end(
    postgres_server_url: str, scenario: str
) -> None:
    result = await measure(20, scenario, server_url=postgres_server_url, database=f"hexpay_bench_cpu_{scenario}")
    # create and confirm: the 20 measured after the warm-up (a confirm that does not succeed stops the tool);
    # webhook: every event of 120 payments but the 100 warmed up on, at least one succeeded event per payment.
    assert result["requests"] == 20 if scenario != "webhook" else result["requests"] >= 20
    assert result["user_us"] > 0 and result["system_us"] >= 0 and result["wall_us"] > 0


async def test_the_measurement_keeps_several_requests_in_flight_when_asked(postgres_server_url: str) -> None:
    # Confirms of 40 payments, 8 at a time: the connections they need are opened in the warm-up, every confirm
    # still succeeds (the tool stops otherwise), and each is counted once.
    result = await measure(40, "confirm_payment", server_url=postgres_server_url,
                           database="hexpay_bench_cpu_concurrent", concurrency=8)
    assert result["requests"] == 40


async def test_bytecodes_are_counted_in_hexpays_own_code_for_the_measured_requests(postgres_server_url: str) -> None:
    counts = Counts()
    result = await measure(20, "create_payment", server_url=postgres_server_url,
                           database="hexpay_bench_cpu_bytecodes", window=counts.counting)
    files = counts.by_file()
    # The use case, the SQL adapter and the HTTP layer all ran, for the 20 measured creates alone: about 20,000
    # bytecodes each (the warm-up's 100 and the setup's orders, counted too, would be several times that).
    assert files["application/use_cases/payments.py"] > 0 and files["adapters/sqlalchemy/transaction.py"] > 0
    assert files["entrypoints/http/request_log.py"] > 0
    assert 5_000 < counts.total / result["requests"] < 100_000
