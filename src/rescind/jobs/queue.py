"""The durable job queue: enqueue in the caller's transaction, claim with row locks, finish.

At-least-once: a claimed job whose worker died is claimed again once its lease expires, so
handlers must be idempotent. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim
without blocking or double-claiming; SQLite serialises writers, so one node is the contract there.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rescind.store.columns import utcnow
from rescind.store.models import Job
from rescind.store.statuses import JobStatus

QUEUED = JobStatus.QUEUED
RUNNING = JobStatus.RUNNING
DONE = JobStatus.DONE
FAILED = JobStatus.FAILED


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    unique_key: str | None = None,
) -> Job | None:
    """Add a job in the caller's transaction; with `unique_key`, at most one such job exists.

    Returns the new job, or None when a job with the same `unique_key` is already there.
    """
    job = Job(
        kind=kind,
        payload=payload or {},
        run_at=run_at or utcnow(),
        unique_key=unique_key,
        status=QUEUED,
        attempts=0,
    )
    if unique_key is None:
        session.add(job)
        session.flush()
        return job
    if session.scalar(select(Job.id).where(Job.unique_key == unique_key)) is not None:
        return None
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None
    return job


def claim(
    session: Session, worker_id: str, kinds: list[str], *, limit: int = 10, lease_s: float = 300
) -> list[Job]:
    """Lock up to `limit` due jobs of `kinds` for this worker (lease `lease_s` seconds)."""
    now = utcnow()
    due = (
        select(Job)
        .where(
            Job.kind.in_(kinds),
            Job.run_at <= now,
            or_(Job.status == QUEUED, (Job.status == RUNNING) & (Job.locked_until < now)),
        )
        .order_by(Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    jobs = list(session.scalars(due))
    for job in jobs:
        job.status = RUNNING
        job.locked_by = worker_id
        job.locked_until = now + timedelta(seconds=lease_s)
        job.attempts += 1
    session.flush()
    return jobs


def backoff_delay(
    attempts: int, *, base_s: float = 2.0, cap_s: float = 3600.0, jitter: float = 1.0
) -> float:
    """Seconds to wait after `attempts` failed tries: a ceiling doubling from `base_s` up to
    `cap_s`, of which the `jitter` fraction is random. `jitter=1` (full jitter) spreads retries
    most; `jitter=0.5` keeps each wait at least half its ceiling, so waits keep growing."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError("jitter must be between 0 and 1")
    ceiling = min(cap_s, base_s * 2.0 ** min(max(0, attempts - 1), 64))
    return ceiling * (1.0 - jitter) + random.uniform(0, ceiling * jitter)


def release(
    session: Session, job_id: int, worker_id: str, *, status: JobStatus, **values: Any
) -> bool:
    """Set a job's outcome if this worker still holds it; False when the lease was lost."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == RUNNING)
        .values(status=status, locked_by=None, locked_until=None, **values)
    )
    return bool(getattr(result, "rowcount", 0))
