"""Jobs survive failures, are retried, run once per success, and periodic tasks reschedule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs import JobRegistry, Worker, enqueue
from rescind.store import Database
from rescind.store.models import AuditEvent, Job


def test_handler_effects_and_completion_commit_together(
    settings: Settings, database: Database
) -> None:
    calls: list[dict[str, Any]] = []

    def flaky(session: Session, _s: Settings, payload: dict[str, Any]) -> None:
        calls.append(payload)
        session.add(
            AuditEvent(actor="t", action=f"try{len(calls)}", prev_hash="0", hash=str(len(calls)))
        )
        if len(calls) == 1:
            raise RuntimeError("receiver down")

    registry = JobRegistry()
    registry.add_handler("test.flaky", flaky)
    worker = Worker(settings, database, registry)
    with database.session() as session:
        enqueue(session, "test.flaky", {"n": 1})
    assert worker.run_once() == 1
    with database.session() as session:
        job = session.scalars(select(Job)).one()
        assert (
            job.status == "queued"
            and job.attempts == 1
            and job.last_error == "RuntimeError"  # the type only: messages may hold personal data
        )
        assert session.scalars(select(AuditEvent)).all() == []  # the failed try left nothing
        session.execute(update(Job).values(run_at=job.created_at))  # due again now
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    with database.session() as session:
        assert session.scalars(select(Job.status)).one() == "done"
        assert [e.action for e in session.scalars(select(AuditEvent))] == ["try2"]


def test_unique_key_dedupes(database: Database) -> None:
    with database.session() as session:
        assert enqueue(session, "k", unique_key="once") is not None
        assert enqueue(session, "k", unique_key="once") is None
    with database.session() as session:
        assert enqueue(session, "k", unique_key="once") is None
        assert len(session.scalars(select(Job)).all()) == 1


def test_periodic_task_runs_and_reschedules(settings: Settings, database: Database) -> None:
    seen: list[datetime] = []
    registry = JobRegistry()
    registry.add_periodic("tick", 3600, lambda _session, _s, now: seen.append(now))
    worker = Worker(settings, database, registry)
    worker.ensure_periodics()
    worker.ensure_periodics()  # idempotent across processes and restarts
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # next run is an hour away
    assert len(seen) == 1
    with database.session() as session:
        job = session.scalars(select(Job)).one()
        assert job.status == "queued" and job.run_at > seen[0]
