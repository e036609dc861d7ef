"""What `hexpay serve` runs (uvicorn --factory): the app on a container built from the environment."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.http.logs import configure_logging


def create_asgi_app() -> Litestar:
    container = Container()
    settings = container.settings()
    configure_logging(settings.log_level, (settings.admin_token, settings.jwt_secret, *settings.secret_keys))
    return create_app(container)
