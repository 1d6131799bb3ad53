"""API keys for platforms and partners: random secrets, stored only as SHA-256, scoped.

A key looks like `rsk_<prefix>_<secret>`; the prefix finds the row, the hash of the whole key is
compared in constant time. SHA-256 (not argon2) is right here: keys carry 190+ bits of entropy,
so a slow hash adds nothing but latency to every `/v1/check`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.security.text import unsafe_in_identifier
from rescind.store.columns import utcnow
from rescind.store.models import ApiKey

# `requests:regulator` lets a key file requests on the `regulator` channel (a 24-hour clock,
# first in the queue) besides `requests:write`: a platform's own key must not jump the queue.
REGULATOR_SCOPE = "requests:regulator"
SCOPES = (
    "check",
    "content",
    "requests:write",
    REGULATOR_SCOPE,
    "requests:read",
    "review",
    "exchange",
)
KEY_PREFIX = "rsk"
# `last_used_at` is written at most this often per key: enough to tell a live key from an
# abandoned one, without a write per verification.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A key could not be created or used (unknown scope, bad name...)."""


@dataclass(frozen=True)
class ApiPrincipal:
    """Who is calling the API: the key's id, name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How this caller appears in the audit log."""
        return f"apikey:{self.key_id}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    """Scopes from `a,b,c`; unknown scopes are refused."""
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - set(SCOPES)
    if unknown or not scopes:
        raise ApiKeyError(
            f"unknown scope(s): {', '.join(sorted(unknown)) or '(none given)'}; "
            f"known: {', '.join(SCOPES)}"
        )
    return scopes


def create_api_key(session: Session, name: str, scopes: frozenset[str]) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself (shown once, never stored)."""
    if not name.strip() or len(name) > 120:
        raise ApiKeyError("a key needs a name of 1-120 characters")
    if unsafe_in_identifier(name):
        raise ApiKeyError("a key name must not contain control or invisible formatting characters")
    parse_scopes(",".join(scopes))
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name.strip(), prefix=prefix, key_hash=_digest(key), scopes=",".join(sorted(scopes))
    )
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: str) -> ApiPrincipal | None:
    """The principal for `key`, or None when it is malformed, unknown or revoked.

    Records when the key was last used (to the minute: `LAST_USED_RESOLUTION`). The web app
    calls this only when its verified-key cache misses, so `/v1/check` never waits on it."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(key) > 200:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return ApiPrincipal(row.id, row.name, frozenset(row.scopes.split(",")))


def revoke_api_key(session: Session, key_id: int) -> bool:
    """Revoke a key; False when no such key exists."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (hashes only; keys are never stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))
