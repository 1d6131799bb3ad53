"""The registry's group commit: every queued write lands once, waiters on an event loop are
woken after their commit, and on SQLite the writers of several processes queue on a lock."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rescind.platform import registry_writer
from rescind.platform.registry import ContentItem
from rescind.platform.registry_writer import (
    PendingWrite,
    RegistryWriter,
    _FileLock,
    register_contents,
)
from rescind.platform.signals import parse_signals
from rescind.store import Database
from rescind.store.models import Content, ContentSignal
from tests.platform.helpers import random_pdq


def _contents(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Content)) or 0


def test_async_waiters_wake_after_their_commit(database: Database) -> None:
    rng = random.Random(5)
    writer = RegistryWriter(sessionmaker(database.engine, expire_on_commit=False))
    hashes = [random_pdq(rng) for _ in range(300)]

    async def main() -> list[int]:
        async def one(i: int) -> int:
            pending = PendingWrite(f"c{i}", None, parse_signals(pdq=[hashes[i]]))
            await writer.submit_async(pending)
            return _contents(database)  # committed: visible to a new session

        return await asyncio.gather(*(one(i) for i in range(300)))

    seen = asyncio.run(main())
    assert min(seen) >= 1
    assert _contents(database) == 300
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ContentSignal)) == 300
    assert writer.batches < 300  # they shared commits


def test_sqlite_writers_queue_on_a_file_lock(database: Database) -> None:
    writer = RegistryWriter(sessionmaker(database.engine, expire_on_commit=False))
    if database.engine.dialect.name != "sqlite":
        assert writer._lock is None  # PostgreSQL has row locks and no single write lock
        return
    # Another process's writer: its own open file on the same lock file.
    other = _FileLock(writer._lock._path)  # type: ignore[union-attr]
    with other.held():
        done = writer.submit(PendingWrite("queued", None, parse_signals()))
        time.sleep(0.3)
        assert not done.done()  # waits in the kernel's queue, not in SQLite's busy loop
        assert _contents(database) == 0
    done.result(10)
    assert _contents(database) == 1


def test_writes_queued_during_a_commit_are_taken_next(database: Database) -> None:
    """The writer is only woken when it waits: writes queued while it commits (here, while
    its first write waits for another transaction's lock) go into its next batch at once,
    not after a timeout."""
    writer = RegistryWriter(sessionmaker(database.engine, expire_on_commit=False))
    # Another transaction writes the content the writer's first batch upserts, and holds its
    # locks (SQLite's write lock; the row's unique-key lock on PostgreSQL) until rolled back.
    blocker = Session(database.engine)
    try:
        register_contents(blocker, [ContentItem("first", None, parse_signals())])
        first = writer.submit(PendingWrite("first", None, parse_signals()))
        time.sleep(0.3)  # the writer has taken `first` and waits inside its commit
        assert not first.done()
        later = [writer.submit(PendingWrite(f"later{i}", None, parse_signals())) for i in range(5)]
    finally:
        blocker.rollback()
        blocker.close()
    started = time.monotonic()
    first.result(10)
    for done in later:
        done.result(10)
    assert time.monotonic() - started < 2.0
    assert _contents(database) == 6
    assert writer.batches == 2  # `first` alone, then the five queued meanwhile together
    time.sleep(0.2)  # the writer now waits for work, and is woken by the next write
    started = time.monotonic()
    writer.submit(PendingWrite("idle", None, parse_signals())).result(10)
    assert time.monotonic() - started < 2.0


def test_a_failed_batch_fails_only_its_bad_item(database: Database) -> None:
    """An item the database refuses fails alone; the others commit, and the writer goes on
    with a fresh connection."""
    rng = random.Random(7)
    writer = RegistryWriter(sessionmaker(database.engine, expire_on_commit=False))
    bad = PendingWrite(None, None, parse_signals())  # type: ignore[arg-type]  # NOT NULL
    good = [PendingWrite(f"ok{i}", None, parse_signals(pdq=[random_pdq(rng)])) for i in range(3)]
    good[2].block = True
    futures = [writer.submit(p) for p in (good[0], good[1], bad, good[2])]
    for i in (0, 1, 3):
        futures[i].result(10)
    assert futures[2].exception(10) is not None  # its waiter gets the error
    writer.submit(PendingWrite("after", None, parse_signals())).result(10)
    assert _contents(database) == 4
    with database.session() as session:
        # Retried alone, a good item is written in full: its signals, and its verdict's block.
        states = {c: s for c, s in session.execute(select(Content.content_id, Content.state))}
        assert states == {"ok0": "live", "ok1": "live", "ok2": "blocked", "after": "live"}
        assert session.scalar(select(func.count()).select_from(ContentSignal)) == 3


def test_an_idle_writer_gives_its_connection_back(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_writer, "IDLE_RELEASE_S", 0.2)
    writer = RegistryWriter(sessionmaker(database.engine, expire_on_commit=False))
    writer.submit(PendingWrite("one", None, parse_signals())).result(10)
    deadline = time.monotonic() + 5
    while database.engine.pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    writer.submit(PendingWrite("two", None, parse_signals())).result(10)  # opens a new one
    assert _contents(database) == 2
