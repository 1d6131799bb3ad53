"""One runner for every background job: handlers and periodic tasks, run by `rescind worker`
or by the worker thread embedded in `rescind serve`.

A handler runs in the same transaction that marks its job done, so its effects and the job's
completion commit together (applied once); if it raises, both roll back and the job is retried
with exponential backoff. A periodic task is one job row that reschedules itself, so the row lock
keeps two processes from running it at the same time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs import queue
from rescind.store import Database
from rescind.store.columns import utcnow

log = logging.getLogger("rescind.jobs")

Handler = Callable[[Session, Settings, dict[str, Any]], None]
PeriodicFn = Callable[[Session, Settings, datetime], None]


@dataclass(frozen=True)
class Periodic:
    """A task run every `every_s` seconds by exactly one worker at a time."""

    name: str
    every_s: float
    fn: PeriodicFn


@dataclass
class JobRegistry:
    """What the worker knows how to run: job kinds and periodic tasks."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    periodics: dict[str, Periodic] = field(default_factory=dict)
    max_attempts: dict[str, int] = field(default_factory=dict)

    def add_handler(self, kind: str, fn: Handler, *, max_attempts: int = 20) -> None:
        """Run `fn` for each job of `kind`; give up (status failed) after `max_attempts`."""
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self.handlers[kind] = fn
        self.max_attempts[kind] = max_attempts

    def add_periodic(self, name: str, every_s: float, fn: PeriodicFn) -> None:
        """Run `fn` every `every_s` seconds."""
        if name in self.periodics:
            raise ValueError(f"periodic task {name!r} registered twice")
        self.periodics[name] = Periodic(name, every_s, fn)


def _periodic_kind(name: str) -> str:
    return f"periodic:{name}"


class Worker:
    """Claims due jobs and runs them, until stopped."""

    def __init__(
        self, settings: Settings, db: Database, registry: JobRegistry, *, poll_s: float = 0.2
    ) -> None:
        self.settings = settings
        self.db = db
        self.registry = registry
        self.poll_s = poll_s
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.stop_event = threading.Event()

    @property
    def kinds(self) -> list[str]:
        """Every job kind this worker claims."""
        return [*self.registry.handlers, *map(_periodic_kind, self.registry.periodics)]

    def ensure_periodics(self) -> None:
        """Create the one job row of each periodic task if it does not exist yet."""
        with self.db.session() as session:
            for name in self.registry.periodics:
                queue.enqueue(session, _periodic_kind(name), unique_key=_periodic_kind(name))

    def run_once(self, limit: int = 10) -> int:
        """Claim and run up to `limit` due jobs; returns how many ran."""
        with self.db.session() as session:
            jobs = [
                (job.id, job.kind, dict(job.payload), job.attempts)
                for job in queue.claim(
                    session,
                    self.worker_id,
                    self.kinds,
                    limit=limit,
                    lease_s=self.settings.worker_lease_s,
                )
            ]
        for job_id, kind, payload, attempts in jobs:
            self._run(job_id, kind, payload, attempts)
        return len(jobs)

    def _run(self, job_id: int, kind: str, payload: dict[str, Any], attempts: int) -> None:
        try:
            with self.db.session() as session:
                if kind.startswith("periodic:"):
                    task = self.registry.periodics[kind.removeprefix("periodic:")]
                    now = utcnow()
                    task.fn(session, self.settings, now)
                    queue.release(
                        session,
                        job_id,
                        self.worker_id,
                        status=queue.QUEUED,
                        run_at=now + timedelta(seconds=task.every_s),
                        attempts=0,
                        last_error=None,
                    )
                else:
                    self.registry.handlers[kind](session, self.settings, payload)
                    queue.release(session, job_id, self.worker_id, status=queue.DONE)
        except Exception as exc:
            # Log the type only: messages may carry requester data.
            log.warning("job %s (%s) failed: %s", job_id, kind, type(exc).__name__)
            self._fail(job_id, kind, attempts, exc)

    def _fail(self, job_id: int, kind: str, attempts: int, exc: Exception) -> None:
        give_up = not kind.startswith("periodic:") and attempts >= self.registry.max_attempts.get(
            kind, 20
        )
        with self.db.session() as session:
            queue.release(
                session,
                job_id,
                self.worker_id,
                status=queue.FAILED if give_up else queue.QUEUED,
                run_at=utcnow() + timedelta(seconds=queue.backoff_delay(attempts)),
                # the type only: a message may carry requester data (a refused address...)
                last_error=type(exc).__name__,
            )

    def run_forever(self) -> None:
        """Poll until `stop()`; a busy queue is drained without sleeping."""
        self.ensure_periodics()
        while not self.stop_event.is_set():
            try:
                ran = self.run_once()
            except Exception as exc:  # the database may be briefly unavailable: keep going
                log.error("worker poll failed: %s", type(exc).__name__)
                ran = 0
            if not ran:
                self.stop_event.wait(self.poll_s)  # returns at once when stopped

    def stop(self) -> None:
        """Stop after the job in progress."""
        self.stop_event.set()
