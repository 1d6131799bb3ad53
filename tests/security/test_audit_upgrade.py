"""Events written unkeyed before migration 0004 still verify after it, and stay protected."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import update

from rescind.config import Settings
from rescind.security.audit import GENESIS, KEYED, UNKEYED, record, verify_chain
from rescind.store import Database, upgrade_database
from rescind.store.models import AuditEvent

_OLD_EVENTS = sa.table(
    "audit_events",
    *(sa.column(name) for name in ("at", "actor", "action", "subject_id", "prev_hash", "hash")),
)


def _old_hash(prev_hash: str, at: datetime, actor: str, action: str, subject_id: str) -> str:
    # The digest of the unkeyed chain as versions before 0004 wrote it, frozen here on purpose.
    canonical = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, None, subject_id, None],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _upgraded_with_old_rows(tmp_path: Path) -> tuple[Database, list[int]]:
    settings = Settings(
        environment="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/old.db"
    )
    upgrade_database(settings, "0002")
    engine = sa.create_engine(settings.sqlalchemy_url)
    prev = GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for n in range(3):
            at = start + timedelta(minutes=n)
            digest = _old_hash(prev, at, "user:1", "request.view", str(n))
            conn.execute(
                sa.insert(_OLD_EVENTS).values(
                    at=at,
                    actor="user:1",
                    action="request.view",
                    subject_id=str(n),
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
    engine.dispose()
    upgrade_database(settings)
    database = Database(settings)
    with database.session() as session:
        ids = [record(session, "user:2", "request.view", subject_id=n).id for n in range(2)]
    return database, ids


def test_old_unkeyed_rows_verify_after_the_upgrade(tmp_path: Path) -> None:
    database, _ids = _upgraded_with_old_rows(tmp_path)
    try:
        with database.session() as session:
            report = verify_chain(session)
            schemes = [e.scheme for e in session.query(AuditEvent).order_by(AuditEvent.id)]
        assert report.ok and report.events == 5, report
        assert schemes == [UNKEYED] * 3 + [KEYED] * 2
    finally:
        database.dispose()


def test_an_edited_old_row_recomputed_unkeyed_is_caught_by_the_first_keyed_row(
    tmp_path: Path,
) -> None:
    database, ids = _upgraded_with_old_rows(tmp_path)
    try:
        with database.session() as session:
            rows = list(session.query(AuditEvent).order_by(AuditEvent.id))
            # Rewrite the unkeyed prefix consistently: only the keyed row's MAC can tell.
            prev = GENESIS
            for row in rows[:3]:
                row.actor = "user:9"
                row.prev_hash = prev
                row.hash = prev = _old_hash(
                    prev, row.at, row.actor, row.action, row.subject_id or ""
                )
            rows[3].prev_hash = prev
        with database.session() as session:
            report = verify_chain(session)
        assert not report.ok and report.first_bad_id == ids[0]
    finally:
        database.dispose()


def test_a_keyed_row_relabelled_unkeyed_is_caught(tmp_path: Path) -> None:
    database, ids = _upgraded_with_old_rows(tmp_path)
    try:
        with database.session() as session:
            session.execute(
                update(AuditEvent).where(AuditEvent.id == ids[1]).values(scheme=UNKEYED)
            )
        with database.session() as session:
            report = verify_chain(session)
        assert not report.ok and report.first_bad_id == ids[1]
        assert report.problem == "unkeyed row after the chain was keyed"
    finally:
        database.dispose()
