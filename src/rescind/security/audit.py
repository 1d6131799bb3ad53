"""The append-only, hash-chained audit log.

Each event stores the SHA-256 of the previous event's hash and its own canonical content, so
editing, deleting or reordering any row breaks the chain from that row on; `verify_chain` (and
`rescind audit verify`) finds the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rescind.store.columns import utcnow
from rescind.store.models import AuditEvent

GENESIS = "0" * 64
# Any constant works: it only has to be the same for every writer of this database.
_PG_LOCK_KEY = 0x5245_5343  # "RESC"


def _digest(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    detail: dict[str, Any] | None,
) -> str:
    canonical = json.dumps(
        [
            prev_hash,
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            subject_type,
            subject_id,
            detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_chain_head(session: Session) -> None:
    """Serialise appenders, so two transactions never chain onto the same previous row.

    PostgreSQL: a transaction-scoped advisory lock, taken before the head is read (READ
    COMMITTED then reads the head the previous holder committed).
    SQLite: the database's write lock. Python's sqlite3 opens a transaction only before the
    first INSERT/UPDATE/DELETE, so a plain SELECT of the head runs outside any transaction and
    two connections could both read it before either inserts. `BEGIN IMMEDIATE` takes the
    write lock first (waiting up to busy_timeout); a transaction that already wrote holds it
    already. Readers are not blocked in WAL mode, and a request takes the lock only when it
    appends, which it would take for the INSERT anyway.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        driver = session.connection().connection.driver_connection
        if driver is not None and not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction. Never put requester PII in `detail`."""
    _lock_chain_head(session)
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    at = utcnow()
    sid = None if subject_id is None else str(subject_id)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=sid,
        detail=detail,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, at, actor, action, subject_type, sid, detail),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a chain verification."""

    ok: bool
    events: int
    first_bad_id: int | None = None
    problem: str | None = None


def _in_order(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in id order; report the first row that was edited or removed."""
    prev_hash = GENESIS
    count = 0
    for event in _in_order(session):
        count += 1
        if event.prev_hash != prev_hash:
            return ChainReport(False, count, event.id, "previous row missing or altered")
        expected = _digest(
            event.prev_hash,
            event.at,
            event.actor,
            event.action,
            event.subject_type,
            event.subject_id,
            event.detail,
        )
        if expected != event.hash:
            return ChainReport(False, count, event.id, "row content altered")
        prev_hash = event.hash
    return ChainReport(True, count)
