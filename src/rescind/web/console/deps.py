"""The console's dependency: the signed-in staff member, or a redirect to sign in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

from rescind.cases.review import Reviewer
from rescind.store.models import User
from rescind.store.statuses import Role
from rescind.web.console.session import ConsoleSession, LoginRequired, read_session
from rescind.web.deps import SessionDep


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


def current_staff(request: Request, db: SessionDep) -> Staff:
    """The signed-in, active user (re-read every request so deactivation takes effect)."""
    session = read_session(request)
    if session is None:
        raise LoginRequired()
    user = db.get(User, session.user_id)
    if user is None or not user.active or not session.matches(user):
        raise LoginRequired()
    return Staff(db, user, session)


StaffDep = Annotated[Staff, Depends(current_staff)]
