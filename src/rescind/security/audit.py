"""The append-only, keyed hash chain of audit events.

Each event stores the previous event's hash and an HMAC-SHA256 of that and its own canonical
content, keyed with a key derived from the instance secret (never stored in the database).
Editing, deleting or reordering any row, or recomputing the chain without the key, breaks it
from that row on; `verify_chain` (and `rescind audit verify`) names the first broken row.
Removing the newest rows leaves a shorter chain that is still whole: checkpoints written out of
the database (`rescind.security.audit_checkpoints`) anchor the head against that.

Rows written before the chain was keyed (scheme "sha256", plain SHA-256) still verify; the
first keyed row covers the last unkeyed row's hash, and no unkeyed row may follow a keyed one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.security.crypto import derive_key
from rescind.store.columns import utcnow
from rescind.store.db import session_settings
from rescind.store.models import AuditEvent

GENESIS = "0" * 64
UNKEYED = "sha256"  # rows written before migration 0004
KEYED = "hmac-sha256"
# Any constant works: it only has to be the same for every writer of this database.
_PG_LOCK_KEY = 0x5245_5343  # "RESC"
_KEYS_INFO = "rescind.audit_keys"


@dataclass(frozen=True, repr=False)  # repr=False: keys never reach a log or a traceback
class AuditKeys:
    """The keys of the audit chain and of its checkpoints, derived from the instance secret."""

    chain: bytes
    checkpoint: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditKeys:
        """The keys of the instance configured by `settings`."""
        return cls(derive_key(settings, "audit-chain"), derive_key(settings, "audit-checkpoint"))

    @classmethod
    def of_session(cls, session: Session) -> AuditKeys:
        """The keys of the Database that made `session` (derived once per session)."""
        keys = session.info.get(_KEYS_INFO)
        if not isinstance(keys, AuditKeys):
            keys = session.info[_KEYS_INFO] = cls.from_settings(session_settings(session))
        return keys


def _canonical(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    detail: dict[str, Any] | None,
) -> bytes:
    return json.dumps(
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
    ).encode()


def _content(event: AuditEvent) -> bytes:
    return _canonical(
        event.prev_hash,
        event.at,
        event.actor,
        event.action,
        event.subject_type,
        event.subject_id,
        event.detail,
    )


def _keyed_hash(key: bytes, event: AuditEvent) -> str:
    return hmac.new(key, _content(event), hashlib.sha256).hexdigest()


def _expected_hash(scheme: str, key: bytes, event: AuditEvent) -> str | None:
    """The hash `event` must carry under `scheme`; None for an unknown scheme."""
    if scheme == KEYED:
        return _keyed_hash(key, event)
    if scheme == UNKEYED:
        return hashlib.sha256(_content(event)).hexdigest()
    return None


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
    """Append an event in the caller's transaction. Never put requester PII in `detail`.

    The MAC key comes from the session's Database (`AuditKeys.of_session`): a session made
    elsewhere raises rather than writing an unkeyed row."""
    keys = AuditKeys.of_session(session)
    _lock_chain_head(session)
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        detail=detail,
        prev_hash=prev or GENESIS,
        scheme=KEYED,
    )
    event.hash = _keyed_hash(keys.chain, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class Anchor:
    """What a checkpoint says the chain held: event `event_id` with `hash`, the `events`-th."""

    event_id: int
    hash: str
    events: int
    label: str = ""  # how to name it in a report (a checkpoint's file name)


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a chain verification."""

    ok: bool
    events: int
    first_bad_id: int | None = None
    problem: str | None = None
    anchors: int = 0  # checkpoints checked against the chain
    head_id: int | None = field(default=None, compare=False)
    head_hash: str | None = field(default=None, compare=False)


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


def _missing_anchor(anchors: dict[int, Anchor], head_id: int | None, count: int) -> ChainReport:
    newest = max(anchors.values(), key=lambda a: a.event_id)
    if head_id is None or newest.event_id > head_id:
        return ChainReport(
            False,
            count,
            newest.event_id,
            f"the newest events were removed: checkpoint {newest.label} names event "
            f"{newest.event_id}, the chain ends at {head_id or 'nothing'}",
        )
    gone = min(anchors.values(), key=lambda a: a.event_id)
    return ChainReport(
        False, count, gone.event_id, f"event named by checkpoint {gone.label} is missing"
    )


def verify_chain(
    session: Session, keys: AuditKeys | None = None, *, anchors: Sequence[Anchor] = ()
) -> ChainReport:
    """Recompute every hash in id order and report the first row edited or removed; then check
    that every anchor's event is still in the chain with its hash and position."""
    chain_key = (keys or AuditKeys.of_session(session)).chain
    pending = {a.event_id: a for a in anchors}
    prev_hash = GENESIS
    keyed_seen = False
    count = 0
    head_id: int | None = None
    for event in _in_order(session):
        count += 1
        if event.prev_hash != prev_hash:
            return ChainReport(False, count, event.id, "previous row missing or altered")
        if event.scheme == UNKEYED and keyed_seen:
            return ChainReport(False, count, event.id, "unkeyed row after the chain was keyed")
        if _expected_hash(event.scheme, chain_key, event) != event.hash:
            return ChainReport(
                False, count, event.id, "row content altered (or a different secret key)"
            )
        keyed_seen = keyed_seen or event.scheme == KEYED
        anchor = pending.pop(event.id, None)
        if anchor is not None and (anchor.hash, anchor.events) != (event.hash, count):
            return ChainReport(
                False, count, event.id, f"differs from checkpoint {anchor.label} (chain rewritten)"
            )
        prev_hash = event.hash
        head_id = event.id
    if pending:
        return _missing_anchor(pending, head_id, count)
    return ChainReport(True, count, anchors=len(anchors), head_id=head_id, head_hash=prev_hash)
