"""Persistence: SQLAlchemy 2 models, engine and sessions from Settings, Alembic migrations."""

from rescind.store.db import Database, upgrade_database

__all__ = ["Database", "upgrade_database"]
