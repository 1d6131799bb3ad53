"""The schema is built by the migrations, and the migrations match the models."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rescind.cases.intake import signature_of
from rescind.config import Settings
from rescind.store import Database, upgrade_database
from rescind.store.db import alembic_config, make_engine
from rescind.store.models import AuditEvent, Base, Request
from tests.store.rows import LATER_STATUS_COLUMNS, STATUS_COLUMNS, add_every_status, row_counts

# The migration adding the status CHECK constraints (re-chained ids: change it here only).
STATUS_CONSTRAINTS = "0003"


def test_migrations_build_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def _values(sql: str) -> set[str]:
    # The quoted literals of a CHECK, whichever way the backend renders it back:
    # SQLite keeps our text, PostgreSQL says `(status)::text = ANY (ARRAY['a'::varchar, ...])`.
    return set(re.findall(r"'([^']*)'", sql))


def test_migrations_build_the_models_check_constraints(database: Database) -> None:
    # Alembic's compare ignores CHECK constraints: compare their names and allowed values.
    inspector = inspect(database.engine)
    for table in Base.metadata.tables.values():
        built = {
            c["name"]: _values(c["sqltext"]) for c in inspector.get_check_constraints(table.name)
        }
        modelled = {
            str(c.name): _values(str(c.sqltext))
            for c in table.constraints
            if isinstance(c, CheckConstraint)
        }
        assert built == modelled, table.name
    for column, enum in STATUS_COLUMNS:
        table = column.class_.__tablename__
        constraint = f"ck_{table}_{column.key}"
        assert constraint in {c["name"] for c in inspector.get_check_constraints(table)}
        (sql,) = [
            c["sqltext"] for c in inspector.get_check_constraints(table) if c["name"] == constraint
        ]
        assert _values(sql) == {member.value for member in enum}


def test_status_constraints_upgrade_a_database_with_rows_of_every_status(
    blank_db_url: str,
) -> None:
    settings = Settings(environment="test", database_url=blank_db_url)
    cfg = alembic_config(blank_db_url)
    before = ScriptDirectory.from_config(cfg).get_revision(STATUS_CONSTRAINTS).down_revision
    assert isinstance(before, str)
    upgrade_database(settings, before)
    engine = make_engine(blank_db_url, pooled=False)
    try:
        with Session(engine) as session:
            add_every_status(session, legacy=True)
            session.commit()
            counts = row_counts(session)
        upgrade_database(settings)
        with Session(engine) as session:
            # Nothing lost: SQLite rebuilds `requests`, whose drop could cascade to its children.
            assert row_counts(session) == counts
            for column, enum in STATUS_COLUMNS:
                if f"{column.class_.__tablename__}.{column.key}" in LATER_STATUS_COLUMNS:
                    continue  # rows written before 0007 hold no under-18 answer
                assert set(session.scalars(select(column).distinct())) == set(enum)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET status = 'bogus'"))
        command.downgrade(cfg, before)
        with engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET status = 'bogus'"))  # no constraint any more
        with Session(engine) as session:
            assert row_counts(session) == counts
    finally:
        engine.dispose()


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


# The migration giving cases their random handle and sealed signature (re-chained at merge).
PERSON = "0005"


def test_person_migration_gives_old_cases_handles_and_keeps_their_signatures(
    blank_db_url: str,
) -> None:
    settings = Settings(environment="test", database_url=blank_db_url)
    cfg = alembic_config(blank_db_url)
    before = ScriptDirectory.from_config(cfg).get_revision(PERSON).down_revision
    assert isinstance(before, str)
    upgrade_database(settings, before)
    engine = make_engine(blank_db_url, pooled=False)
    try:
        with Session(engine) as session:
            add_every_status(session, legacy=True)
            session.commit()
            counts = row_counts(session)
        upgrade_database(settings)
        with Session(engine) as session:
            assert row_counts(session) == counts
            cases = list(session.scalars(select(Request)))
            handles = {case.handle for case in cases}
            assert len(handles) == len(cases) and all(len(h) >= 40 for h in handles)
            for case in cases:
                assert case.signature_enc is None and case.child_safety == "none"
                assert signature_of(settings, case) == "Test Person"
        command.downgrade(cfg, before)
        with Session(engine) as session:
            assert row_counts(session) == counts
    finally:
        engine.dispose()
