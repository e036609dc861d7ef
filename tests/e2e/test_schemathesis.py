"""Property-based conformance: schemathesis generates requests from /schema/openapi.json for every operation
and checks that no answer is a 5xx and every answer matches the document (status code, content type, body).
Bounded in examples so the suite stays fast; HYPOTHESIS_PROFILE=thorough raises the bound.

Each operation is its own test, driven through schemathesis' in-code API (operation.as_strategy()) because its
pytest plugin (from_fixture) does not run under pytest 9.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.http.app import create_app
from tests.e2e.client import ADMIN_TOKEN, mint_token
from tests.e2e.conftest import e2e_container, e2e_settings

EXAMPLES = 200 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the document; building it touches no database."""
    app = create_app(e2e_container(e2e_settings("sqlite+aiosqlite:///:memory:")))
    document = app.openapi_schema.to_schema()
    return sorted((method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete"))


@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_conforms(sqlite_url: str, method: str, path: str) -> None:
    app = create_app(e2e_container(e2e_settings(sqlite_url)))
    operation = schemathesis.openapi.from_asgi("/schema/openapi.json", app)[path][method]
    token = ADMIN_TOKEN if path.startswith("/api/v1/admin") else mint_token("schemathesis-shopper")
    responses: list[int] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def conforms(case: Any) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        responses.append(response.status_code)

    conforms()
    assert responses and max(responses) < 500, responses
