"""Concurrent appenders never chain onto the same previous event (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from rescind.security.audit import record, verify_chain
from rescind.store import Database
from rescind.store.models import AuditEvent

THREADS = 16
APPENDS = 12


def test_concurrent_appends_keep_one_chain(database: Database) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def view_cases(worker: int) -> None:
        try:
            start.wait()
            for n in range(APPENDS):
                # One session per append, as one audited request each.
                with database.session() as session:
                    record(
                        session,
                        f"user:{worker}",
                        "request.view",
                        subject_type="request",
                        subject_id=f"{worker}-{n}",
                    )
        except BaseException as exc:  # reported below, after every thread ended
            errors.append(exc)

    threads = [threading.Thread(target=view_cases, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        prev_hashes = list(session.scalars(select(AuditEvent.prev_hash)))
        report = verify_chain(session)
    assert len(prev_hashes) == THREADS * APPENDS
    assert len(set(prev_hashes)) == len(prev_hashes), "two events chained onto the same row"
    assert report.ok and report.events == THREADS * APPENDS
