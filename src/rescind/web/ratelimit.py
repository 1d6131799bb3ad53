"""Token-bucket rate limits held in the process.

Each `rescind serve` process counts on its own: with N processes behind a load balancer the
effective limit is up to N times the setting (docs/requests.md). Buckets are keyed (e.g. by
client address) and the table is bounded so a flood of addresses cannot exhaust memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class RateLimiter:
    """`capacity` actions per `period_s` per key, refilled continuously."""

    def __init__(self, capacity: int, period_s: float, *, max_keys: int = 50_000) -> None:
        self.capacity = float(max(capacity, 1))
        self.rate = self.capacity / period_s
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def has_token(self, key: str, now: float | None = None) -> bool:
        """Whether `allow(key)` would succeed now, without taking the token."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            return min(self.capacity, tokens + (now - last) * self.rate) >= 1.0

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed


# One address never gets more than this share of a global bucket: draining it for everyone
# takes at least this many clients (IPv6 addresses count per /64, `rescind.web.forwarded`).
ADDRESS_SHARE = 10
# Failed sign-ins one address may make at one account per hour.
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = 10


def _share(per_address: int, global_: int) -> int:
    return max(1, min(per_address, global_ // ADDRESS_SHARE))


class Limits:
    """The limits of one app: public submissions, status lookups, console logins."""

    def __init__(
        self,
        *,
        submissions_per_ip: int,
        submissions_global: int,
        lookups_per_ip: int,
        logins_per_ip: int,
    ) -> None:
        hour = 3600.0
        per_ip = _share(submissions_per_ip, submissions_global)
        # Stored requests are limited; attempts (including ones with mistakes) get ten times
        # more room, so a person correcting a form is never locked out but hammering is.
        self.attempt_ip = RateLimiter(per_ip * 10, hour)
        self.submit_ip = RateLimiter(per_ip, hour)
        self.submit_all = RateLimiter(submissions_global, hour)
        lookups_global = max(lookups_per_ip * 100, 1000)
        self.lookup_ip = RateLimiter(_share(lookups_per_ip, lookups_global), hour)
        self.lookup_all = RateLimiter(lookups_global, hour)
        # Sign-in: attempts per address, and failures per (account, address). No limit per
        # account alone (anyone could lock the account): the account slows down instead
        # (`rescind.cases.users.backoff_wait`), and that a known browser or TOTP passes.
        self.login_ip = RateLimiter(logins_per_ip, hour)
        self.login_pair = RateLimiter(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, hour)
