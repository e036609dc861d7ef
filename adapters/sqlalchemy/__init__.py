"""Repositories and unit of work on SQLAlchemy Core: Postgres (asyncpg) in production, SQLite (aiosqlite) embedded."""

from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.migrate import upgrade_to_head, upgrade_to_head_async
from adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory

__all__ = [
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "create_engine",
    "upgrade_to_head",
    "upgrade_to_head_async",
]
