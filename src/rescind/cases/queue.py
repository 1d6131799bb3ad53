"""Reading cases for reviewers: the queue ordered by deadline, and everything about one case."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.orm import Session, selectinload

from rescind.cases.deadlines import OPEN_STATUSES
from rescind.cases.errors import CaseNotFound
from rescind.cases.identifiers import normalize_case_number
from rescind.store.models import Action, Content, Match, Request
from rescind.store.statuses import ChildSafetyFlag, RequestStatus

STATUSES = tuple(RequestStatus)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: statuses (default: open ones), channel, language."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    channel: str | None = None
    language: str | None = None
    assigned_to_id: int | None = None
    limit: int = 200
    # Also cases whose removal came back (refused, not the platform's, undeliverable) or that
    # got a new item: they need a reviewer again.
    with_flagged: bool = False


def list_queue(session: Session, flt: QueueFilter) -> list[Request]:
    """Cases matching `flt`: possible child sexual abuse material first, then the nearest
    deadline first."""
    query = select(Request).options(selectinload(Request.items))
    statuses = [s for s in flt.statuses if s in STATUSES] or list(OPEN_STATUSES)
    shown: ColumnElement[bool] = Request.status.in_(statuses)
    if flt.with_flagged:
        shown = or_(shown, Request.needs_review.is_(True))
    query = query.where(shown)
    if flt.channel:
        query = query.where(Request.channel == flt.channel)
    if flt.language:
        query = query.where(Request.language == flt.language)
    if flt.assigned_to_id is not None:
        query = query.where(Request.assigned_to_id == flt.assigned_to_id)
    flagged_first = case((Request.child_safety == ChildSafetyFlag.POSSIBLE, 0), else_=1)
    order = (flagged_first, Request.deadline_at, Request.id)
    return list(session.scalars(query.order_by(*order).limit(flt.limit)))


def find_case(session: Session, case_number: str) -> Request:
    """A case by its number (staff and API use; requesters go through `requester.open_case`)."""
    number = normalize_case_number(case_number)
    request = (
        session.scalar(select(Request).where(Request.case_number == number)) if number else None
    )
    if request is None:
        raise CaseNotFound()
    return request


def related_cases(session: Session, request: Request, limit: int = 20) -> list[Request]:
    """Other cases filed with the same email address, newest first (repeat requesters)."""
    if not request.requester_digest:
        return []
    return list(
        session.scalars(
            select(Request)
            .where(Request.requester_digest == request.requester_digest, Request.id != request.id)
            .order_by(Request.received_at.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class CopyFound:
    """A platform content item matched to this case's hashes (filled by the platform's sweep)."""

    content_id: str
    url: str | None
    state: str
    distance: int
    found_by: str


@dataclass(frozen=True)
class Enforcement:
    """What the platform was asked to do for this case, and how delivery went."""

    copies: list[CopyFound] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def enforcement(session: Session, request: Request) -> Enforcement:
    """Copies found and actions queued for a case (the platform's `matches` and `actions`)."""
    rows = session.execute(
        select(Content, Match)
        .join(Match, Match.content_pk == Content.id)
        .where(Match.request_id == request.id)
        .order_by(Match.id)
    ).all()
    copies = [CopyFound(c.content_id, c.url, c.state, m.distance, m.found_by) for c, m in rows]
    actions = list(
        session.scalars(select(Action).where(Action.request_id == request.id).order_by(Action.id))
    )
    return Enforcement(copies, actions)
