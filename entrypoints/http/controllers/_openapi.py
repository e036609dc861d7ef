"""The problem+json answers each kind of route can give, documented once for the OpenAPI document."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from entrypoints.http.problems import Problem


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem, media_type="application/problem+json", description="problem+json (RFC 9457)"
        )
        for status in statuses
    }


ADMIN_ERRORS = problems(400, 401, 404, 409, 413, 422)
SHOPPER_ERRORS = problems(400, 401, 404, 409, 413, 422)
GATEWAY_ERRORS = problems(402, 502, 503)
