"""Apply the Alembic migrations: `hexpay db upgrade`, the Makefile and the tests all come through here."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # the ini parser treats % as interpolation
    return config


def upgrade_to_head(url: str) -> None:
    """Migrate the database at url to the newest revision (a fresh SQLite file's directory is created).

    Blocking. Alembic's async environment runs its own event loop, so when called from inside a running loop
    the migration runs in a worker thread."""
    config = alembic_config(url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, "head")
        return
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(command.upgrade, config, "head").result()


async def upgrade_to_head_async(url: str) -> None:
    """The same without blocking the running event loop."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
