"""The schema is built by the migrations, and the migrations match the models."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, TextClause, inspect, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from rescind.cases.intake import signature_of
from rescind.config import Settings
from rescind.store import Database, upgrade_database
from rescind.store.db import alembic_config, make_engine
from rescind.store.models import AuditEvent, Base, Request
from tests.store.rows import STATUS_COLUMNS, insert_raw

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


# Every value the status columns held before the constraints (0003) and the lifecycle (0007).
LEGACY_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"role": ("admin", "reviewer", "auditor")},
    "requests": {
        "status": ("received", "in_review", "need_info", "actioned", "rejected", "withdrawn")
    },
    "decisions": {"outcome": ("remove", "reject", "need_info")},
    "bank_entries": {"status": ("active", "withdrawn")},
    "contents": {"state": ("live", "removed", "blocked")},
    "actions": {"status": ("pending", "delivered", "done", "failed")},
    "jobs": {"status": ("queued", "running", "done", "failed")},
}


def _legacy_rows(conn: Connection) -> dict[str, int]:
    """Rows of every legacy value, plus the cases the lifecycle migration tells apart: a removal
    every action of which was done (now "removed"), one with an action still pending, and one
    that queued no action (both "removal_pending", the last flagged for review)."""
    ids: dict[str, int] = {}
    for table, columns in LEGACY_VALUES.items():
        for column, values in columns.items():
            for n, value in enumerate(values):
                extra: dict[str, Any] = {}
                if table == "requests":
                    extra = {"case_number": f"RSC-OLD-{n:04d}", "channel": "api"}
                if table == "users":
                    extra = {"username": f"user-{value}"}
                if table == "contents":
                    extra = {"content_id": f"content-{value}"}
                if table == "actions":
                    extra = {"idempotency_key": f"key-{value}"}
                if table == "decisions":
                    extra = {"request_id": ids.get("requests:received", 0)}
                if table == "bank_entries":
                    extra = {"bank_id": insert_raw(conn, "banks", name=f"b-{value}")}
                ids[f"{table}:{value}"] = insert_raw(conn, table, **{column: value, **extra})
    old = {"status": "actioned", "channel": "api"}
    done = insert_raw(conn, "requests", case_number="RSC-OLD-DONE", **old)
    waiting = insert_raw(conn, "requests", case_number="RSC-OLD-WAIT", **old)
    insert_raw(conn, "request_items", request_id=done, url="https://p.example/1")
    insert_raw(conn, "actions", idempotency_key="k-done", status="done", request_id=done)
    insert_raw(conn, "actions", idempotency_key="k-wait", status="pending", request_id=waiting)
    return {"done": done, "waiting": waiting, "none": ids["requests:actioned"]}


def test_status_migrations_upgrade_a_database_with_rows_of_every_legacy_status(
    blank_db_url: str,
) -> None:
    settings = Settings(environment="test", database_url=blank_db_url)
    cfg = alembic_config(blank_db_url)
    before = ScriptDirectory.from_config(cfg).get_revision(STATUS_CONSTRAINTS).down_revision
    assert isinstance(before, str)
    upgrade_database(settings, before)
    engine = make_engine(blank_db_url, pooled=False)
    tables = [*LEGACY_VALUES, "request_items", "banks"]

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}

    try:
        with engine.begin() as conn:
            cases = _legacy_rows(conn)
        before_counts = counts()
        upgrade_database(settings)
        # Nothing lost: SQLite rebuilds `requests`, whose drop could cascade to its children.
        assert counts() == before_counts
        with engine.connect() as conn:
            status = {
                key: tuple(
                    conn.execute(
                        text("SELECT status, needs_review, removed_at FROM requests WHERE id = :i"),
                        {"i": rid},
                    ).one()
                )
                for key, rid in cases.items()
            }
            actions = set(conn.execute(text("SELECT DISTINCT status FROM actions")).scalars())
            items = set(conn.execute(text("SELECT DISTINCT status FROM request_items")).scalars())
        assert status["done"][0] == "removed" and status["done"][2] is not None
        assert status["waiting"][:2] == ("removal_pending", False)
        assert status["none"][:2] == ("removal_pending", True)
        assert actions == {"pending", "delivered", "confirmed", "failed"}
        assert items == {"remove"}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET status = 'bogus'"))
        command.downgrade(cfg, before)
        with engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET status = 'bogus'"))  # no constraint any more
            old = set(conn.execute(text("SELECT DISTINCT status FROM requests")).scalars())
        assert counts() == before_counts and "actioned" in old
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
        with engine.begin() as conn:
            for n in range(3):
                rid = insert_raw(
                    conn,
                    "requests",
                    case_number=f"RSC-OLD-{n:04d}",
                    status="received",
                    channel="public_form",
                    signature="Test Person",
                )
                insert_raw(conn, "request_items", request_id=rid, url=f"https://p.example/{n}")
        upgrade_database(settings)
        with Session(engine) as session:
            cases = list(session.scalars(select(Request)))
            handles = {case.handle for case in cases}
            assert len(cases) == 3
            assert len(handles) == len(cases) and all(len(h) >= 40 for h in handles)
            for case in cases:
                assert case.signature_enc is None and case.child_safety == "none"
                assert signature_of(settings, case) == "Test Person"
        command.downgrade(cfg, before)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM requests")).scalar_one() == 3
    finally:
        engine.dispose()


def _one_content(database: Database, kind: str) -> None:
    """One registered content item of ``kind``, for the registry rows' CHECK tests."""
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contents (content_id, kind, state, first_seen_at, last_seen_at) "
                "VALUES ('c', :kind, 'live', :t, :t)"
            ),
            {"t": datetime.now(UTC), "kind": kind},
        )


def _stored_or_refused(
    database: Database, insert: TextClause, values: dict[str, Any], stored: bool
) -> None:
    """Run ``insert``: it must be stored, or else refused by a constraint."""
    if stored:
        with database.engine.begin() as conn:
            conn.execute(insert, values)
    else:
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(insert, values)


@pytest.mark.parametrize(
    ("signal_type", "variant", "stored"),
    [
        ("pdq", "full/rot90", True),
        ("pdq_dihedral", "trimmed_jpeg/flip_h", True),
        ("pdq", None, True),  # a hash a platform sent, or a row registered before 0019
        ("md5", None, True),
        ("md5", "full", False),  # a view name belongs to a picture hash only
        ("video_pdq", "full", False),
        ("pdq", "", False),
    ],
)
def test_a_registry_rows_view_name_is_a_picture_hashs(
    database: Database, signal_type: str, variant: str | None, stored: bool
) -> None:
    _one_content(database, "image")
    insert = text(
        "INSERT INTO content_signals (content_pk, signal_type, value, variant) "
        "SELECT id, :st, :v, :n FROM contents"
    )
    values = {"st": signal_type, "v": "a" * 64, "n": variant}
    _stored_or_refused(database, insert, values, stored)
    # Longer than the longest name by far: refused on both backends.
    with pytest.raises((IntegrityError, DataError)), database.engine.begin() as conn:
        conn.execute(insert, values | {"st": "pdq", "n": "x" * 41})


@pytest.mark.parametrize(
    ("column", "signal_type", "flag", "stored"),
    [
        ("sparse", "pdq", True, True),
        ("sparse", "pdq_dihedral", False, True),
        ("sparse", "pdq", None, True),  # a hash a platform sent, or a row registered before 0020
        ("sparse", "video_pdq", None, True),
        ("sparse", "video_pdq", True, False),  # the flag belongs to a picture hash only
        ("sparse", "md5", False, False),
        ("plain", "video_pdq", True, True),
        ("plain", "video_pdq", False, True),
        ("plain", "video_pdq", None, True),  # frames a platform sent, or registered before 0021
        ("plain", "pdq", None, True),
        ("plain", "pdq", True, False),  # the flag belongs to a video frame only
        ("plain", "sha256", False, False),
    ],
)
def test_a_registry_rows_sparse_and_plain_flags_belong_to_their_kind_of_hash(
    database: Database, column: str, signal_type: str, flag: bool | None, stored: bool
) -> None:
    """``sparse`` (0020) is a picture hash's flag, ``plain`` (0021) a video frame's."""
    _one_content(database, "video" if column == "plain" else "image")
    insert = text(
        f"INSERT INTO content_signals (content_pk, signal_type, value, {column}) "
        "SELECT id, :st, :v, :f FROM contents"
    )
    _stored_or_refused(database, insert, {"st": signal_type, "v": "a" * 64, "f": flag}, stored)


def test_a_failed_upgrade_on_sqlite_leaves_the_schema_as_it_was(tmp_path: Any) -> None:
    """Every pending migration runs in one transaction on SQLite too: Python's sqlite3 opens a
    transaction only before an INSERT, UPDATE or DELETE, so an ALTER TABLE ran outside any
    and stayed behind when a later step failed (the database said 0019 and had 0020's
    column, and the next upgrade stopped on it). SQLite-only: PostgreSQL's DDL was always
    inside Alembic's transaction, and the failure used here (a foreign key that the
    upgrade's closing check finds broken) is SQLite's."""
    url = f"sqlite:///{tmp_path / 'half.db'}"
    settings = Settings(environment="test", database_url=url)
    upgrade_database(settings, "0019")
    raw = sqlite3.connect(tmp_path / "half.db")
    try:
        columns = raw.execute("PRAGMA table_info(content_signals)").fetchall()
        values = {
            name: {"content_id": 424242, "signal_type": "pdq", "value": "ab" * 32}.get(name, 0)
            for _, name, _, notnull, default, pk in columns
            if notnull and default is None and not pk
        }
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        # foreign keys are off on a plain sqlite3 connection: a row whose content is gone
        raw.execute(
            f"INSERT INTO content_signals ({names}) VALUES ({marks})", list(values.values())
        )
        raw.commit()

        with pytest.raises(RuntimeError, match="broke 1 foreign key"):
            upgrade_database(settings)

        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0019",)]
        after = {row[1] for row in raw.execute("PRAGMA table_info(content_signals)")}
        assert {name for _, name, *_ in columns} == after  # no `sparse`, no `plain`
    finally:
        raw.close()


def _upgrade_in_a_process(url: str) -> str:
    try:
        upgrade_database(Settings(environment="test", database_url=url))
    except Exception as exc:  # reported to the test, which names it
        return repr(exc)
    return "ok"


def test_processes_that_start_together_migrate_one_after_the_other(blank_db_url: str) -> None:
    """`rescind serve` and `rescind worker` started together both upgrade a new database:
    one waits for the other and then finds nothing to do (before: 'table api_keys already
    exists', and half-built `_alembic_tmp_` tables left behind on SQLite)."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(3) as pool:
        results = pool.map(_upgrade_in_a_process, [blank_db_url] * 3)
    assert results == ["ok", "ok", "ok"]
    engine = make_engine(blank_db_url, pooled=False)
    try:
        with engine.connect() as conn:
            assert not compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = inspect(conn).get_table_names()
        assert not [t for t in tables if t.startswith("_alembic_tmp")]
    finally:
        engine.dispose()
