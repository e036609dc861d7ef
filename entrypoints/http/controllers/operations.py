"""Operations: liveness, readiness (the database answers), Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sqlalchemy.tables import payments
from entrypoints.http.auth import PUBLIC
from entrypoints.http.controllers._openapi import problems
from entrypoints.http.dependencies import container_of
from entrypoints.http.metrics import HttpMetrics
from entrypoints.http.problems import PROBLEM_JSON, problem_body
from entrypoints.http.schemas.common import Out

READINESS_TIMEOUT_S = 2.0
_log = logging.getLogger("hexpay.http")


class Health(Out):
    status: str


def _engine(request: Request[Any, Any, Any]) -> AsyncEngine:
    engine: AsyncEngine = container_of(request).engine()
    return engine


async def _database_answers(engine: AsyncEngine) -> bool:
    async def select_one() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(select_one(), READINESS_TIMEOUT_S)
    except Exception as error:
        _log.warning("readiness: the database does not answer (%s)", type(error).__name__)
        return False
    return True


@get("/health/live", opt={"audience": PUBLIC}, tags=["operations"], summary="The process is up")
async def live() -> Health:
    return Health(status="ok")


@get(
    "/health/ready",
    opt={"audience": PUBLIC},
    tags=["operations"],
    responses=problems(503),
    summary="The service can serve: its database answers",
)
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    if await _database_answers(_engine(request)):
        return Response(Health(status="ok"))
    body = problem_body(503, "service_unavailable", "The database does not answer.")
    return Response(body, status_code=503, media_type=PROBLEM_JSON)


@get(
    "/metrics",
    opt={"audience": PUBLIC},
    tags=["operations"],
    media_type=HttpMetrics.content_type,
    summary="Prometheus metrics",
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    observed: HttpMetrics = request.app.state.metrics
    engine = _engine(request)

    async def payment_counts() -> dict[str, int] | None:
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(select(payments.c.status, func.count()).group_by(payments.c.status))
                return {str(status): int(count) for status, count in rows}
        except Exception as error:  # a scrape still reports the process's own metrics
            _log.warning("metrics: payments by status unavailable (%s)", type(error).__name__)
            return None

    return Response(await observed.render(payment_counts), media_type=HttpMetrics.content_type)
