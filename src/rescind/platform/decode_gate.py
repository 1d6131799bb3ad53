"""How many media decodes run at once in one server, and how much memory they may hold.

A decode reserves its estimated peak memory (`rescind.media.decode_cost`, from the upload's
header) and one of the concurrency slots together, before any pixel is decoded, and gives
both back when it ends. A waiting decode holds nothing, and any decode that fits goes
first: a small check is never queued behind a big one that waits for memory.
"""

from __future__ import annotations

import threading


class DecodeGate:
    """A counting semaphore (`slots`) and a weighted one (`budget` bytes) taken atomically."""

    def __init__(self, slots: int, budget: int) -> None:
        if slots < 1 or budget < 1:
            raise ValueError("a decode gate needs at least one slot and one byte")
        self.slots = slots
        self.budget = budget
        self._free_slots = slots
        self._free_bytes = budget
        self._changed = threading.Condition(threading.Lock())

    @property
    def reserved(self) -> int:
        """Bytes held by decodes in progress."""
        with self._changed:
            return self.budget - self._free_bytes

    @property
    def free_slots(self) -> int:
        """Slots no decode holds."""
        with self._changed:
            return self._free_slots

    def acquire(self, cost: int, timeout: float) -> bool:
        """Take a slot and `cost` bytes (at most the whole budget), waiting at most `timeout`
        seconds for both to be free at once; False when they were not."""
        cost = min(max(cost, 0), self.budget)
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._free_slots > 0 and self._free_bytes >= cost, timeout
            ):
                return False
            self._free_slots -= 1
            self._free_bytes -= cost
            return True

    def release(self, cost: int) -> None:
        """Give back what `acquire(cost)` took; every waiter looks again."""
        cost = min(max(cost, 0), self.budget)
        with self._changed:
            self._free_slots += 1
            self._free_bytes += cost
            self._changed.notify_all()
