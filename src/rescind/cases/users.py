"""Staff accounts: creation, sign-in with argon2 passwords and optional TOTP, enrolment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    """The outcome of a sign-in attempt: the user, or None (the reason is never shown)."""

    user: User | None
    needs_totp: bool = False


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


def authenticate(
    session: Session, settings: Settings, username: str, password: str, code: str | None
) -> LoginResult:
    """Check a sign-in. Unknown users cost the same argon2 verification as known ones."""
    user = session.scalar(select(User).where(User.username == username.strip()[:120]))
    ok = verify_secret(user.password_hash if user else None, password[:1024])
    if user is None or not ok or not user.active:
        audit.record(
            session,
            "anonymous",
            "login.failure",
            subject_type="user",
            subject_id=user.id if user else None,
        )
        return LoginResult(None)
    if user.totp_secret_enc is not None:
        secret = _totp_sealer(settings).open(user.totp_secret_enc)
        if not code or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
            audit.record(
                session,
                "anonymous",
                "login.failure",
                subject_type="user",
                subject_id=user.id,
                detail={"reason": "totp"},
            )
            return LoginResult(None, needs_totp=True)
    user.last_login_at = utcnow()
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
    """Turn on TOTP for `user` once they prove their app has `secret` (a valid current code)."""
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        return False
    user.totp_secret_enc = _totp_sealer(settings).seal(secret)
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
    """Disable (or re-enable) an account; a disabled user's sessions stop at their next request."""
    user.active = active
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
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    user.password_hash = hash_secret(password)
    audit.record(session, actor, "user.password_set", subject_type="user", subject_id=user.id)
