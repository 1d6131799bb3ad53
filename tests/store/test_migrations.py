"""The schema is built by the migrations, and the migrations match the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from rescind.store import Database
from rescind.store.models import AuditEvent, Base


def test_migrations_build_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_datetimes_come_back_timezone_aware(database: Database) -> None:
    at = datetime(2026, 5, 19, 12, 30, tzinfo=UTC) + timedelta(microseconds=5)
    with database.session() as session:
        session.add(
            AuditEvent(at=at, actor="system", action="t", prev_hash="0" * 64, hash="1" * 64)
        )
    with database.session() as session:
        stored = session.scalars(select(AuditEvent)).one()
    assert stored.at == at
    assert stored.at.tzinfo is not None


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.session() as session:
        session.add(
            AuditEvent(
                at=datetime(2026, 1, 1), actor="s", action="t", prev_hash="0" * 64, hash="2" * 64
            )
        )
        session.flush()
