"""The audit chain detects edited and deleted rows on both backends."""

from __future__ import annotations

from sqlalchemy import delete, update

from rescind.security.audit import record, verify_chain
from rescind.store import Database
from rescind.store.models import AuditEvent


def _fill(database: Database, n: int = 5) -> list[int]:
    with database.session() as session:
        return [
            record(session, "user:1", "request.view", subject_type="request", subject_id=i).id
            for i in range(n)
        ]


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database)
    with database.session() as session:
        report = verify_chain(session)
    assert report.ok and report.events == 5


def test_edited_row_is_found(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(actor="user:2"))
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_id == ids[2]


def test_deleted_row_is_found(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_id == ids[2]
