"""CORS for the endpoints a browser calls (the shopper's and the sandbox's client side), never the admin ones."""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.middleware.cors import CORSMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

BROWSER_PREFIXES = ("/api/v1/me/", "/api/store/", "/api/v1/store/", "/sandbox/")


class BrowserCors:
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        config = CORSConfig(
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            expose_headers=["Idempotent-Replayed", "X-Request-Id"],
            allow_credentials=False,  # bearer tokens, never cookies
            max_age=600,
        )
        self.cors = CORSMiddleware(app=app, config=config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == ScopeType.HTTP and (path + "/").startswith(BROWSER_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
