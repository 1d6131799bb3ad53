"""Console sign-ins held by the server: started at sign-in, found by the cookie's random id,
ended by sign-out, a password change, an account being disabled, idle time or their absolute
lifetime (`RESCIND_CONSOLE_SESSION_HOURS`), whichever comes first. Nothing renews a sign-in past
its lifetime."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.security.crypto import DecryptionError, Sealer
from rescind.store.columns import utcnow
from rescind.store.models import StaffSession, User

# last_seen is written at most this often (and at least ten times per idle timeout): a page
# view is not always a database write.
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Started:
    """A new sign-in: the random id for the cookie (shown once, never stored) and its row."""

    token: str
    record: StaffSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, settings: Settings, user: User, now: datetime | None = None) -> Started:
    """Open a sign-in for `user` (and forget the user's sign-ins past their lifetime)."""
    now = now or utcnow()
    # Ended sign-ins are of no further use (sign-ins and failures are in the audit log).
    session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.expires_at < now)
    )
    token = secrets.token_urlsafe(32)
    record = StaffSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        last_seen=now,
        expires_at=now + timedelta(hours=settings.console_session_hours),
    )
    session.add(record)
    session.flush()
    return Started(token, record)


def find(
    session: Session, settings: Settings, token: str | None, now: datetime | None = None
) -> tuple[StaffSession, User] | None:
    """The live sign-in with this id and its active user; None when unknown, revoked, expired,
    idle too long or the user is disabled. Records the visit (idle time starts again)."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    record = session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if (
        record is None
        or record.revoked_at is not None
        or now >= record.expires_at
        or now >= record.last_seen + timedelta(minutes=settings.console_idle_minutes)
    ):
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.active:
        return None
    idle = timedelta(minutes=settings.console_idle_minutes)
    if now - record.last_seen >= min(_TOUCH_EVERY, idle / 10):
        record.last_seen = now
    return record, user


def revoke(session: Session, record: StaffSession, now: datetime | None = None) -> None:
    """End one sign-in (sign-out)."""
    if record.revoked_at is None:
        record.revoked_at = now or utcnow()


def revoke_all(session: Session, user_id: int, now: datetime | None = None) -> int:
    """End every live sign-in of a user (password changed, account disabled); how many."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _sealer(settings: Settings) -> Sealer:
    return Sealer(settings, "totp")


def pending_totp(settings: Settings, record: StaffSession) -> str | None:
    """The TOTP secret this sign-in is enrolling, if any."""
    if record.totp_pending_enc is None:
        return None
    try:
        return _sealer(settings).open(record.totp_pending_enc)
    except DecryptionError:
        return None


def set_pending_totp(settings: Settings, record: StaffSession, secret: str | None) -> None:
    """Keep (or forget, with None) the secret being enrolled, on the server only."""
    record.totp_pending_enc = _sealer(settings).seal(secret) if secret else None
