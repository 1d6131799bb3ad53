"""Argon2id hashes for staff passwords and requesters' status secrets.

Parameters follow OWASP's minimum for argon2id (19 MiB, 2 passes): ~20 ms here, which bounds
online guessing together with the rate limits while keeping the status page responsive.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("rescind-dummy-value-never-matches")


def hash_secret(value: str) -> str:
    """An argon2id hash of `value`."""
    return _hasher().hash(value)


def verify_secret(stored_hash: str | None, value: str) -> bool:
    """True when `value` matches `stored_hash`.

    With no hash (unknown user or case) a dummy hash is verified anyway, so the answer takes the
    same time whether or not the account or case exists.
    """
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), value) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
