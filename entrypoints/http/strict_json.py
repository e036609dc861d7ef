"""Request bodies decoded strictly, straight into the handler's msgspec Struct.

Litestar converts bodies with msgspec's lax rules (strict=False), which would take "2" for 2 and "true" for
true. A payments API must not guess: a wrong type is a 400 naming the field. This request class decodes the
raw bytes once, strictly, into the type the handler declares for `data`; Litestar's own conversion then passes
the Struct through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException
from litestar.types import Empty

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def field_of(error: msgspec.ValidationError) -> tuple[str | None, str]:
    """`Expected int, got str - at $.lines[0].quantity` -> ("lines[0].quantity", "Expected int, got str")."""
    match = _AT.match(str(error))
    if match is None:
        return None, str(error)
    path = (match.group("path") or "").lstrip(".")
    return path or None, match.group("message")


class StrictJSONRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        data_field = self.route_handler.parsed_data_field
        if data_field is None:
            return await super().json()
        state = self._connection_state
        if state.json is Empty:
            body = await self.body()
            try:
                state.json = msgspec.json.decode(body or b"null", type=data_field.annotation, strict=True)
            except msgspec.ValidationError as error:
                field, message = field_of(error)
                raise ValidationException(detail="The request body is not valid.",
                                          extra=[{"key": field, "message": message, "source": "body"}]) from None
            except msgspec.DecodeError as error:
                raise ClientException(detail=f"The request body is not valid JSON: {error}") from None
        return state.json
