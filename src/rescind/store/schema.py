"""Where a database's schema stands against the migrations this version ships."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from rescind.store.db import Database, alembic_config


def schema_is_current(database: Database) -> bool:
    """True when every migration this version ships has been applied to `database`.

    False for an empty, older or unreachable database: commands that need the schema say so
    in one line instead of failing deep inside a query."""
    heads = set(ScriptDirectory.from_config(alembic_config(database.url)).get_heads())
    try:
        with database.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError:
        return False
    return current == heads
