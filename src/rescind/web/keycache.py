"""The verified-key cache: `/v1` keys verified in the last few seconds, so `/v1/check` does not
hit the database on every call; a revoked key stops working within `CACHE_TTL_S`."""

from __future__ import annotations

import threading
import time

from rescind.platform.apikeys import ApiPrincipal

CACHE_TTL_S = 5.0


class KeyCache:
    """A small TTL cache of verified keys (one per app, in its `AppServices`; no module-level
    state)."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, ApiPrincipal | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, ApiPrincipal | None]:
        """(hit, principal) for `key`."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, principal: ApiPrincipal | None) -> None:
        """Remember the outcome of verifying `key`."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_s, principal)
