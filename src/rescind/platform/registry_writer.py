"""Group commit for the registry: checks from many request threads share one transaction.

Every check records its content, but a commit per check (an fsync each) caps a server at a
few hundred checks a second. Here request threads queue their write and wait; one writer
thread commits everything queued in one transaction with set-based statements, then wakes them.
A check still answers only once its registry write is durable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from rescind.platform.matcher import Hit
from rescind.platform.registry import signal_key, signal_rows, upsert_content
from rescind.platform.signals import Signals
from rescind.store.columns import utcnow
from rescind.store.models import Content, ContentSignal, Match

log = logging.getLogger("rescind.platform")

MAX_BATCH = 500
LINGER_S = 0.002


@dataclass
class PendingWrite:
    """One check's registry write, and how its waiter learns the outcome."""

    content_id: str
    url: str | None
    signals: Signals
    hits: tuple[Hit, ...] = ()
    block: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


def _insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def write_batch(session: Session, batch: Sequence[PendingWrite]) -> None:
    """Upsert every item of `batch` (the last write of a content id wins) in `session`."""
    items = {p.content_id: p for p in batch}
    now = utcnow()
    contents: Table = Content.__table__  # type: ignore[assignment]
    session.execute(
        _insert(session, contents).on_conflict_do_nothing(index_elements=["content_id"]),
        [
            {
                "content_id": p.content_id,
                "url": p.url,
                "kind": p.signals.kind,
                "state": "live",
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for p in items.values()
        ],
    )
    pks: dict[str, int] = dict(
        session.execute(
            select(Content.content_id, Content.id).where(Content.content_id.in_(list(items)))
        ).all()
    )
    for with_url in (True, False):
        rows = [
            {"id": pks[p.content_id], "last_seen_at": now, "forgotten_at": None}
            | ({"url": p.url} if with_url else {})
            | ({"kind": p.signals.kind} if not p.signals.empty else {})
            for p in items.values()
            if (p.url is not None) == with_url
        ]
        for keys in {tuple(sorted(r)) for r in rows}:
            group = [r for r in rows if tuple(sorted(r)) == keys]
            session.execute(update(Content), group)
    _replace_signals(session, {pks[c]: p.signals for c, p in items.items() if not p.signals.empty})
    matches = [
        {
            "content_pk": pks[p.content_id],
            "bank_entry_id": h.entry_id,
            "request_id": h.request_id,
            "distance": h.distance,
            "found_by": "check",
            "at": now,
        }
        for p in items.values()
        for h in p.hits
        if h.bank.kind != "allow"
    ]
    if matches:
        table: Table = Match.__table__  # type: ignore[assignment]
        session.execute(
            _insert(session, table).on_conflict_do_nothing(
                index_elements=["content_pk", "bank_entry_id"]
            ),
            matches,
        )
    blocked = [pks[p.content_id] for p in items.values() if p.block]
    if blocked:
        session.execute(
            update(Content)
            .where(Content.id.in_(blocked), Content.state == "live")
            .values(state="blocked")
        )


def _replace_signals(session: Session, wanted: dict[int, Signals]) -> None:
    if not wanted:
        return
    old: dict[int, list[tuple[str, str, int | None, float | None]]] = {pk: [] for pk in wanted}
    for pk, st, value, quality, t in session.execute(
        select(
            ContentSignal.content_pk,
            ContentSignal.signal_type,
            ContentSignal.value,
            ContentSignal.quality,
            ContentSignal.t,
        ).where(ContentSignal.content_pk.in_(list(wanted)))
    ):
        old[pk].append((st, value, quality, t))
    new_rows: list[dict[str, Any]] = []
    changed: list[int] = []
    for pk, signals in wanted.items():
        rows = signal_rows(pk, signals)
        if sorted(map(signal_key, rows), key=repr) == sorted(old[pk], key=repr):
            continue
        if old[pk]:
            changed.append(pk)
        new_rows += [
            {
                "content_pk": pk,
                "signal_type": r.signal_type,
                "value": r.value,
                "quality": r.quality,
                "t": r.t,
            }
            for r in rows
        ]
    if changed:
        session.execute(
            ContentSignal.__table__.delete().where(ContentSignal.content_pk.in_(changed))  # type: ignore[attr-defined]
        )
    if new_rows:
        session.execute(ContentSignal.__table__.insert(), new_rows)  # type: ignore[attr-defined]


class RegistryWriter:
    """The writer thread of one database in this process."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queue: list[PendingWrite] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batches = 0  # commits so far (for /metrics)
        self.items = 0  # writes committed so far

    def write(self, pending: PendingWrite, timeout_s: float = 30.0) -> None:
        """Queue `pending` and wait until it is committed (re-raises its error)."""
        with self._cond:
            self._queue.append(pending)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="rescind-registry-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        if not pending.done.wait(timeout_s):
            raise TimeoutError("the registry write did not commit in time")
        if pending.error is not None:
            raise pending.error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if not self._cond.wait(timeout=60):
                        self._thread = None
                        return
                if len(self._queue) < MAX_BATCH:
                    # Linger a moment: requests arriving meanwhile share this commit.
                    self._cond.wait(timeout=LINGER_S)
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._commit(batch)

    def _commit(self, batch: list[PendingWrite]) -> None:
        try:
            with self._sessions.begin() as session:
                write_batch(session, batch)
        except Exception as exc:
            # One bad item must not fail the others: retry each alone.
            log.warning("registry batch failed (%s); retrying one by one", type(exc).__name__)
            for pending in batch:
                try:
                    with self._sessions.begin() as session:
                        content = upsert_content(
                            session, pending.content_id, url=pending.url, signals=pending.signals
                        )
                        if pending.block and content.state == "live":
                            content.state = "blocked"
                except Exception as item_exc:
                    pending.error = item_exc
        self.batches += 1
        self.items += len(batch)
        for pending in batch:
            pending.done.set()
