"""Group commit for the registry: checks from many request threads share one transaction.

Every check records its content, but a commit per check (an fsync each) caps a server at a
few hundred checks a second. Here request threads queue their write and wait; one writer
thread commits everything queued in one transaction with set-based statements, then wakes them.
A check still answers only once its registry write is durable.

Waiters on an event loop (`submit_async`) are woken together: one thread-safe callback per
loop per batch, not one per check. On SQLite the writers of several server processes take
turns through an advisory file lock (`_FileLock`), queued by the kernel, instead of SQLite's
busy handler, which polls with sleeps of 1 to 100 ms.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.orm import Session, sessionmaker

from rescind.platform.matcher import Hit
from rescind.platform.registry import (
    ContentItem,
    SignalValue,
    same_signals,
    signal_values,
)
from rescind.platform.signals import Signals
from rescind.store.columns import utcnow
from rescind.store.models import Content, Match
from rescind.store.statuses import ContentState

log = logging.getLogger("rescind.platform")

MAX_BATCH = 500
LINGER_S = 0.001
# The writer's connection is closed after this long without work.
IDLE_RELEASE_S = 1.0


@dataclass
class PendingWrite:
    """One check's registry write, and how its waiter learns the outcome."""

    content_id: str
    url: str | None
    signals: Signals
    hits: tuple[Hit, ...] = ()
    block: bool = False
    # How the waiter learns the outcome: a thread's Future (`submit`) or an event loop's
    # future (`submit_async`); set by the writer when the item is queued.
    done: Future[None] | None = None
    waiter: asyncio.Future[None] | None = None


class _FileLock:
    """An exclusive advisory lock on a file beside a SQLite database, shared by every
    process on the machine: writers wait in the kernel's queue and wake when it is free."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._local = threading.Lock()  # flock is per open file: threads take turns here
        weakref.finalize(self, os.close, self._fd)

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def _sqlite_lock(engine: Engine) -> _FileLock | None:
    """The writers' lock of a file SQLite database, None for other databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return _FileLock(Path(f"{url.database}-writer.lock"))


def _resolve(waiters: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """Complete event-loop waiters (run on their loop)."""
    for waiter, error in waiters:
        if waiter.done():  # the waiter gave up (timeout, cancelled)
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


def _insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def write_batch(connection: Connection, batch: Sequence[PendingWrite]) -> None:
    """Upsert every item of `batch` (the last write of a content id wins) in the transaction
    of `connection`.

    This runs for every check, so the statements every batch needs (upsert the contents,
    returning their keys; read, then add their signals) are plain SQL run on the
    connection's own DBAPI cursor, with the values bound as the columns' types bind them:
    a few statements per batch whatever its size, and no statement building, compiling or
    result wrapping per batch."""
    items = {p.content_id: p for p in batch}
    sql = _Sql(connection)
    now = sql.timestamp(utcnow())
    pks: dict[str, int] = {}
    cursor = connection.connection.cursor()
    try:
        for with_signals in (True, False):
            group = [p for p in items.values() if (not p.signals.empty) == with_signals]
            if not group:
                continue
            cursor.execute(
                sql.upsert_contents(len(group), with_signals),
                [v for p in group for v in (p.content_id, p.url, p.signals.kind, now, now)],
            )
            pks.update(cursor.fetchall())
        _replace_signals(
            cursor, sql, {pks[c]: p.signals for c, p in items.items() if not p.signals.empty}
        )
    finally:
        cursor.close()
    matches = [
        {
            "content_pk": pks[p.content_id],
            "bank_entry_id": h.entry_id,
            "request_id": h.request_id,
            "distance": h.distance,
            "found_by": "check",
            "at": utcnow(),
        }
        for p in items.values()
        for h in p.hits
        if h.bank.kind != "allow"
    ]
    if matches:
        table: Table = Match.__table__  # type: ignore[assignment]
        connection.execute(
            _insert(connection, table).on_conflict_do_nothing(
                index_elements=["content_pk", "bank_entry_id"]
            ),
            matches,
        )
    blocked = [pks[p.content_id] for p in items.values() if p.block]
    if blocked:
        contents: Table = Content.__table__  # type: ignore[assignment]
        connection.execute(
            contents.update()
            .where(contents.c.id.in_(blocked), contents.c.state == ContentState.LIVE)
            .values(state=ContentState.BLOCKED)
        )


def register_contents(session: Session, items: Sequence[ContentItem]) -> list[str]:
    """Record many items (backfill) in the session's transaction, with the statements every
    check's write uses; returns their content ids."""
    write_batch(session.connection(), [PendingWrite(i.content_id, i.url, i.signals) for i in items])
    return [i.content_id for i in items]


class _Sql:
    """The plain statements of `write_batch` in one connection's dialect, with its timestamp
    binding. Only placeholders are ever formatted into them; values are always bound."""

    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect
        self.mark = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        column = Content.__table__.c.last_seen_at
        self._bind_time = column.type.bind_processor(dialect)
        self._sqlite = dialect.name == "sqlite"

    def timestamp(self, value: datetime) -> Any:
        """`value` as the timestamp columns store it on this dialect."""
        bound = self._bind_time(value) if self._bind_time is not None else value
        if self._sqlite and isinstance(bound, datetime):
            # What sqlite3's datetime adapter would store, formatted once per batch rather
            # than once per row and column.
            return bound.isoformat(" ")
        return bound

    def _marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def upsert_contents(self, count: int, set_kind: bool) -> str:
        """Upsert `count` (content_id, url, kind, first_seen_at, last_seen_at) rows, returning
        (content_id, id); an existing row is seen again, keeps its URL unless given one, and
        takes the new kind when `set_kind`."""
        m = self.mark
        row = f"({m}, {m}, {m}, '{ContentState.LIVE.value}', {m}, {m})"
        kind = ", kind = excluded.kind" if set_kind else ""
        return (
            "INSERT INTO contents (content_id, url, kind, state, first_seen_at, last_seen_at) "  # noqa: S608
            f"VALUES {', '.join([row] * count)} "
            "ON CONFLICT (content_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
            f"forgotten_at = NULL, url = coalesce(excluded.url, contents.url){kind} "
            "RETURNING content_id, id"
        )

    def select_signals(self, count: int) -> str:
        """The signals of `count` contents."""
        return (
            "SELECT content_pk, signal_type, value, quality, t, variant, sparse, plain "  # noqa: S608
            "FROM content_signals "
            f"WHERE content_pk IN ({self._marks(count)})"
        )

    def delete_signals(self, count: int) -> str:
        """Drop the signals of `count` contents."""
        return f"DELETE FROM content_signals WHERE content_pk IN ({self._marks(count)})"  # noqa: S608

    def insert_signal(self) -> str:
        """Add one (content_pk, signal_type, value, quality, t, variant, sparse, plain) row
        (for executemany)."""
        return (
            "INSERT INTO content_signals "  # noqa: S608
            "(content_pk, signal_type, value, quality, t, variant, sparse, plain) "
            f"VALUES ({self._marks(8)})"
        )


def _flag(value: object) -> bool | None:
    return None if value is None else bool(value)


def _replace_signals(cursor: DBAPICursor, sql: _Sql, wanted: dict[int, Signals]) -> None:
    if not wanted:
        return
    old: dict[int, list[SignalValue]] = {pk: [] for pk in wanted}
    cursor.execute(sql.select_signals(len(wanted)), tuple(wanted))
    for pk, st, value, quality, t, variant, sparse, plain in cursor.fetchall():
        # SQLite's driver gives a boolean back as 0 or 1.
        old[pk].append(SignalValue(st, value, quality, t, variant, _flag(sparse), _flag(plain)))
    new_rows: list[tuple[int, *SignalValue]] = []
    changed: list[int] = []
    for pk, wanted_signals in wanted.items():
        values = signal_values(wanted_signals)
        if old[pk]:
            if same_signals(values, old[pk]):
                continue
            changed.append(pk)
        new_rows += [(pk, *value) for value in values]
    if changed:
        cursor.execute(sql.delete_signals(len(changed)), tuple(changed))
    if new_rows:
        cursor.executemany(sql.insert_signal(), new_rows)


class RegistryWriter:
    """The writer thread of one database in this process."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._queue: list[PendingWrite] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._waiting = False  # the writer thread waits on `_cond` (for work, or lingering)
        engine = sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("RegistryWriter needs a sessionmaker bound to an Engine")
        self._engine = engine
        self._lock = _sqlite_lock(engine)
        # The writer thread's own connection, kept between batches: no session, pool
        # checkout or reset per commit. Dropped after an error, and after IDLE_RELEASE_S
        # without work.
        self._connection: Connection | None = None
        self.batches = 0  # commits so far (for /metrics)
        self.items = 0  # writes committed so far

    def write(self, pending: PendingWrite, timeout_s: float = 30.0) -> None:
        """Queue `pending` and wait until it is committed (re-raises its error)."""
        try:
            self.submit(pending).result(timeout_s)
        except TimeoutError:
            raise TimeoutError("the registry write did not commit in time") from None

    def submit(self, pending: PendingWrite) -> Future[None]:
        """Queue `pending`; the future completes once it is committed (or failed)."""
        pending.done = done = Future[None]()
        self._enqueue(pending)
        return done

    def submit_async(self, pending: PendingWrite) -> asyncio.Future[None]:
        """Queue `pending` from a running event loop; the returned future completes on that
        loop once the write is committed (or failed)."""
        pending.waiter = waiter = asyncio.get_running_loop().create_future()
        self._enqueue(pending)
        return waiter

    def _enqueue(self, pending: PendingWrite) -> None:
        with self._cond:
            self._queue.append(pending)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="rescind-registry-writer", daemon=True
                )
                self._thread.start()
            if self._waiting:  # a busy writer takes the queue when its commit is done
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._waiting = True
                while not self._queue:
                    if self._connection is not None:
                        if not self._cond.wait(timeout=IDLE_RELEASE_S):
                            self._drop_connection()  # idle: give the connection back
                        continue
                    if not self._cond.wait(timeout=60):
                        self._thread = None
                        self._waiting = False
                        return
                if len(self._queue) < MAX_BATCH:
                    # Linger a moment: requests arriving meanwhile share this commit.
                    self._cond.wait(timeout=LINGER_S)
                self._waiting = False
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._commit(batch)

    def _commit(self, batch: list[PendingWrite]) -> None:
        if self._lock is None:
            errors = self._write(batch)
        else:
            with self._lock.held():
                errors = self._write(batch)
        self.batches += 1
        self.items += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for pending in batch:
            error = errors.get(id(pending))
            if pending.waiter is not None:
                by_loop.setdefault(pending.waiter.get_loop(), []).append((pending.waiter, error))
            elif pending.done is not None:
                if error is None:
                    pending.done.set_result(None)
                else:
                    pending.done.set_exception(error)
        for loop, waiters in by_loop.items():
            with suppress(RuntimeError):  # a closed loop: nobody waits there any more
                loop.call_soon_threadsafe(_resolve, waiters)

    def _write(self, batch: list[PendingWrite]) -> dict[int, BaseException]:
        """Commit `batch`; the errors of the items that failed, by `id`."""
        errors: dict[int, BaseException] = {}
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            with self._connection.begin():
                write_batch(self._connection, batch)
        except Exception as exc:
            self._drop_connection()  # it may be broken: the next batch opens a new one
            # One bad item must not fail the others: retry each alone.
            log.warning("registry batch failed (%s); retrying one by one", type(exc).__name__)
            for pending in batch:
                try:
                    with self._engine.begin() as connection:
                        write_batch(connection, [pending])
                except Exception as item_exc:
                    errors[id(pending)] = item_exc
        return errors

    def _drop_connection(self) -> None:
        """Close the writer's connection outright (not back into a pool that may have been
        disposed meanwhile). It may be broken already: then there is nothing to release."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):
                connection.invalidate()
            with suppress(Exception):
                connection.close()
