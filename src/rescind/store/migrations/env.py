"""Alembic environment: runs migrations on the URL given by rescind.store.db.alembic_config."""

from __future__ import annotations

from alembic import context

from rescind.store.db import make_engine
from rescind.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run every pending migration in one transaction per migration."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url, pooled=False)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table to change it: with foreign keys on, dropping the old
            # table would cascade to (delete) the rows referring to it. The pragma is a no-op
            # inside a transaction, so it is set before the migrations' one begins.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                # What the pragma stopped checking, checked once before the commit.
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration broke {len(broken)} foreign key(s)")
    engine.dispose()


run_migrations_online()
