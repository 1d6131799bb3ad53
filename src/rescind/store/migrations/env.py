"""Alembic environment: runs migrations on the URL given by rescind.store.db.alembic_config."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, event

from rescind.store.db import make_engine
from rescind.store.models import Base

config = context.config
target_metadata = Base.metadata


def _sqlite_for_migrations(dbapi_connection: Any, _record: Any) -> None:
    """Batch mode rebuilds a table to change it: with foreign keys on, dropping the old table
    would cascade to (delete) the rows referring to it. The pragma is a no-op inside a
    transaction, so it is set as the connection opens. And the driver's own transaction
    handling is turned off: Python's sqlite3 begins a transaction only before an INSERT,
    UPDATE or DELETE, so a CREATE, DROP or ALTER before one ran outside any transaction and
    was committed at once (a migration cut short left a half-changed schema)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
    dbapi_connection.isolation_level = None


def _begin_sqlite(connection: Connection) -> None:
    # IMMEDIATE: the write lock from the start, so a second process migrating at the same
    # time (`rescind serve` and `rescind worker` started together) waits for the first (the
    # busy timeout), then reads the version the first one wrote and finds nothing to do; a
    # deferred BEGIN would read the old version and fail on its first write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# Any constant of our own: the key of the transaction-scoped advisory lock that one migrating
# process holds on PostgreSQL while another waits (the same reason as BEGIN IMMEDIATE above).
_MIGRATION_LOCK = 0x72657363  # "resc"


def run_migrations_online() -> None:
    """Run every pending migration in one transaction, on both backends: a failure anywhere
    (or a crash) leaves the database as it was before the command."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url, pooled=False)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # after make_engine's own connect hook (pragmas), so foreign keys end up off
        event.listen(engine, "connect", _sqlite_for_migrations)
        event.listen(engine, "begin", _begin_sqlite)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            # SQLite's DDL is transactional; Alembic assumes it is not unless told
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if not sqlite:
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            context.run_migrations()
            if sqlite:
                # What the pragma stopped checking, checked once before the commit.
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke {len(broken)} foreign key(s)")
    engine.dispose()


run_migrations_online()
