"""Staff accounts: creation, sign-in with argon2 passwords and optional TOTP, enrolment."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from rescind.cases import staff_sessions
from rescind.config import Settings
from rescind.security import audit
from rescind.security.crypto import Sealer
from rescind.security.passwords import hash_secret, verify_secret
from rescind.store.columns import utcnow
from rescind.store.models import User
from rescind.store.statuses import Role

ROLES = tuple(Role)
MIN_PASSWORD = 12


class UserError(ValueError):
    """A user could not be created or changed (duplicate name, weak password, bad role...)."""


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a sign-in attempt: the user, or None. `needs_totp`: the password was
    right, a current code is missing (not said while the account is slowed down). `wait_s`: the
    account is slowed down after failed attempts and this one was not even checked."""

    user: User | None
    needs_totp: bool = False
    wait_s: float = 0.0


def _totp_sealer(settings: Settings) -> Sealer:
    return Sealer(settings, "totp")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    email: str | None = None,
    actor: str = "system",
) -> User:
    """Create a staff account."""
    username = username.strip()
    if not username or len(username) > 120 or not username.isprintable():
        raise UserError("a username has 1-120 printable characters")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists")
    user = User(
        username=username,
        email=email,
        password_hash=hash_secret(password),
        role=role,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        subject_type="user",
        subject_id=user.id,
        detail={"role": role},
    )
    return user


def first_admin(session: Session) -> tuple[User, str] | None:
    """On an empty user table, an `admin` with a random password (returned once); else None."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    password = secrets.token_urlsafe(15)
    return create_user(session, "admin", password, Role.ADMIN), password


def backoff_wait(settings: Settings, user: User, now: datetime | None = None) -> float:
    """Seconds before the account takes another sign-in attempt from an unknown browser: 0 until
    `login_backoff_after` failures in a row, then 1 s doubling with each further failure, capped
    at `login_backoff_max_seconds`, counted from the last failure."""
    over = user.failed_logins - settings.login_backoff_after
    if over < 0 or user.last_failed_login_at is None:
        return 0.0
    delay = min(float(2 ** min(over, 30)), settings.login_backoff_max_seconds)
    elapsed = ((now or utcnow()) - user.last_failed_login_at).total_seconds()
    return max(0.0, delay - elapsed)


def _failed(session: Session, user: User | None, now: datetime, reason: str | None = None) -> None:
    if user is not None:  # in SQL: concurrent failures each count
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1, last_failed_login_at=now)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        session,
        "anonymous",
        "login.failure",
        subject_type="user",
        subject_id=user.id if user else None,
        detail={"reason": reason} if reason else None,
    )


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time-step (now, or one either side for clock drift) whose code `code` is."""
    totp = pyotp.TOTP(secret)
    code = code.strip()
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_totp_step(session: Session, user: User, step: int) -> bool:
    """Record `step` as used, only if it is later than the last one used (atomically: two
    sign-ins racing with one code cannot both win)."""
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    user.totp_last_step = step
    return True


def authenticate(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    code: str | None,
    *,
    known_user_id: int | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check a sign-in. Unknown users cost the same argon2 verification as known ones.

    After `login_backoff_after` failures in a row the account slows down (`backoff_wait`): an
    attempt inside the wait is refused unchecked, unless it comes from a browser that signed in
    to this account before (`known_user_id` is the account's) or the account has TOTP; for
    those, the password and code are checked as usual, but a right password without a right
    code is not told apart from a wrong one. Nobody else's failures keep the real user out."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username.strip()[:120]))
    ok = verify_secret(user.password_hash if user else None, password[:1024])
    if user is None or not user.active:
        _failed(session, user, now)
        return LoginResult(None)
    wait = 0.0 if known_user_id == user.id else backoff_wait(settings, user, now)
    if wait and user.totp_secret_enc is None:
        audit.record(
            session,
            "anonymous",
            "login.slowed",
            subject_type="user",
            subject_id=user.id,
        )
        return LoginResult(None, wait_s=wait)
    if not ok:
        _failed(session, user, now)
        return LoginResult(None)
    if user.totp_secret_enc is not None:
        secret = _totp_sealer(settings).open(user.totp_secret_enc)
        step = _totp_step(secret, code, now) if code else None
        if step is None or not _use_totp_step(session, user, step):
            _failed(session, user, now, "totp")
            return LoginResult(None, needs_totp=not wait)
    user.failed_logins = 0
    user.last_failed_login_at = None
    user.last_login_at = now
    audit.record(
        session, f"user:{user.id}", "login.success", subject_type="user", subject_id=user.id
    )
    return LoginResult(user)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret for enrolment."""
    return pyotp.random_base32()


def totp_uri(settings: Settings, user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.username, issuer_name=settings.platform_name
    )


def enable_totp(session: Session, settings: Settings, user: User, secret: str, code: str) -> bool:
    """Turn on TOTP for `user` once they prove their app has `secret` (a valid current code).
    That code is then used: it cannot also sign in."""
    step = _totp_step(secret, code, utcnow())
    if step is None:
        return False
    user.totp_secret_enc = _totp_sealer(settings).seal(secret)
    user.totp_last_step = step
    audit.record(
        session, f"user:{user.id}", "user.totp_enable", subject_type="user", subject_id=user.id
    )
    return True


def find_user(session: Session, username: str) -> User:
    """The user called `username`, or `UserError`."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    """Every staff account, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(session: Session, user: User, active: bool, *, actor: str = "system") -> None:
    """Disable (or re-enable) an account; disabling ends every console sign-in of the user."""
    user.active = active
    if not active:
        staff_sessions.revoke_all(session, user.id)
    audit.record(
        session,
        actor,
        "user.enable" if active else "user.disable",
        subject_type="user",
        subject_id=user.id,
    )


def reset_totp(session: Session, user: User, *, actor: str = "system") -> None:
    """Remove two-step sign-in (a lost phone); the user enrols again from Account."""
    user.totp_secret_enc = None
    audit.record(session, actor, "user.totp_reset", subject_type="user", subject_id=user.id)


def set_password(session: Session, user: User, password: str, *, actor: str = "system") -> None:
    """Replace a user's password; every console sign-in of the user ends."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    user.password_hash = hash_secret(password)
    user.failed_logins = 0
    user.last_failed_login_at = None
    staff_sessions.revoke_all(session, user.id)
    audit.record(session, actor, "user.password_set", subject_type="user", subject_id=user.id)
