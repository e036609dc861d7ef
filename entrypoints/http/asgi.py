"""What `hexpay serve` runs (uvicorn --factory): the app on a container built from the environment."""

from __future__ import annotations

import gc

from litestar import Litestar

from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.http.logs import configure_logging_for


def create_asgi_app() -> Litestar:
    container = Container()
    settings = container.settings()
    configure_logging_for(settings)
    app = create_app(container)
    tune_garbage_collector()
    return app


def tune_garbage_collector() -> None:
    """The objects made at startup (modules, the app, compiled statements) live as long as the process: frozen,
    the collector stops walking them on every full collection. The first generation is collected every 5,000
    allocations instead of 700: about as much collector CPU in all as at 50,000 (a third of 700's), in pauses of
    at most about 5 ms where 50,000 made pauses of 30-45 ms that stalled every request in flight (measured under
    the bench's create and confirm: p99 about 86 ms at 2,000-10,000, 96 ms at 50,000)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 20, 100)
