"""An in-memory Hamming index over the registry's PDQ and frame hashes, for fast sweeps.

It follows `content_signals` by id. Ids are handed out before commit, so on PostgreSQL a row
with a lower id can become visible after a higher one: ids missing below the highest seen are
remembered as gaps and looked up again until they appear or `GAP_TTL_S` passes (then they
were rows deleted or rolled back). Index hits are always re-read from the database, so rows
deleted later (forgotten content, replaced signals) never produce a copy.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.index import HammingIndex
from rescind.platform.signals import PDQ_TYPES
from rescind.store.models import ContentSignal

LOAD_BATCH = 200_000
GAP_TTL_S = 120.0
# Only ids this close to the newest are tracked as gaps: a missing id far behind is a deleted
# row, not a transaction still in flight.
GAP_WINDOW = 20_000
MAX_GAPS = 5_000
# The registry takes every registered hash and is searched only by sweeps, so its index caps
# its segments: merging uploads into one segment of millions would now and then cost seconds of
# CPU in every server process at once (and hold up the matcher's poller). At 10M hashes that is
# 10 segments; a sweep searches them in a few milliseconds.
SEGMENT_ROWS = 1_000_000


class RegistryIndex:
    """PDQ and frame hashes of registered content, keyed by `content_signals.id`."""

    def __init__(self) -> None:
        self.index = HammingIndex(max_segment=SEGMENT_ROWS)
        self.high = 0
        self.gaps: dict[int, float] = {}
        self.loaded = False
        self.synced_at = 0.0
        self._lock = threading.Lock()

    def sync(self, session: Session) -> int:
        """Index rows committed since the last sync; returns how many hashes were added."""
        with self._lock:
            added = 0
            while True:
                n, more = self._step(session)
                added += n
                if not more:
                    break
            self.loaded = True
            self.synced_at = time.monotonic()
            return added

    def _step(self, session: Session) -> tuple[int, bool]:
        cols = (ContentSignal.id, ContentSignal.signal_type, ContentSignal.value)
        rows = session.execute(
            select(*cols)
            .where(ContentSignal.id > self.high)
            .order_by(ContentSignal.id)
            .limit(LOAD_BATCH)
        ).all()
        now = time.monotonic()
        gap_rows: list[tuple[int, str, str]] = []
        if self.gaps:
            self.gaps = {g: t for g, t in self.gaps.items() if now - t < GAP_TTL_S}
            wanted = sorted(self.gaps)[:MAX_GAPS]
            gap_rows = [
                (r[0], r[1], r[2])
                for r in session.execute(select(*cols).where(ContentSignal.id.in_(wanted)))
            ]
            for row in gap_rows:
                self.gaps.pop(row[0], None)
        ids = [r[0] for r in rows]
        more = len(rows) == LOAD_BATCH
        if ids and not more:  # a full batch is history being loaded, not in-flight rows
            self._note_gaps(ids, now)
        if ids:
            self.high = ids[-1]
        pdq = [(r[0], r[2]) for r in (*rows, *gap_rows) if r[1] in PDQ_TYPES]
        if pdq:
            codes = np.frombuffer(bytes.fromhex("".join(v for _, v in pdq)), np.uint8)
            self.index.add(np.array([i for i, _ in pdq], np.int64), codes.reshape(-1, 32))
        return len(pdq), more

    def _note_gaps(self, ids: list[int], now: float) -> None:
        expected, floor = self.high + 1, ids[-1] - GAP_WINDOW
        for i in ids:
            for missing in range(max(expected, floor), i):
                if len(self.gaps) >= MAX_GAPS:
                    return
                self.gaps[missing] = now
            expected = i + 1

    def search(self, hashes: list[str], radius: int) -> list[list[tuple[int, int]]]:
        """For each hash, `(content_signals.id, distance)` within `radius` (may be stale)."""
        if not hashes or not len(self.index):
            return [[] for _ in hashes]
        return self.index.search(hashes, radius)

    def forget(self, signal_ids: list[int]) -> None:
        """Drop ids found stale by a sweep."""
        if signal_ids:
            self.index.remove(signal_ids)
