"""The console's dependency: the signed-in staff member, or a redirect to sign in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

from rescind.cases import staff_sessions
from rescind.cases.review import Reviewer
from rescind.store.models import User
from rescind.store.statuses import Role
from rescind.web.console.session import ConsoleSession, LoginRequired, session_token
from rescind.web.deps import SessionDep, SettingsDep


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member with the request's unit of work."""

    db: Session
    user: User
    session: ConsoleSession

    @property
    def can_decide(self) -> bool:
        """Admins and reviewers decide; auditors only read."""
        return self.user.role in (Role.ADMIN, Role.REVIEWER)

    @property
    def reviewer(self) -> Reviewer:
        """The user as a decision maker."""
        return Reviewer.of_user(self.user)


def current_staff(request: Request, db: SessionDep, settings: SettingsDep) -> Staff:
    """The signed-in, active user of a live sign-in (looked up on every request, so sign-out,
    a password change, deactivation and expiry take effect at once)."""
    found = staff_sessions.find(db, settings, session_token(request))
    if found is None:
        raise LoginRequired()
    record, user = found
    return Staff(db, user, ConsoleSession(record))


StaffDep = Annotated[Staff, Depends(current_staff)]
