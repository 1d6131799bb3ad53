"""Reading cases for reviewers: the queue ordered by deadline, and everything about one case."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.orm import Session, selectinload

from rescind.cases.deadlines import OPEN_STATUSES
from rescind.cases.errors import CaseNotFound
from rescind.cases.identifiers import normalize_case_number
from rescind.config import Settings
from rescind.security.crypto import requester_digest
from rescind.store.models import Action, Content, Match, Request, RequestItem
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


def search_cases(
    session: Session, settings: Settings, text: str, limit: int = 200
) -> list[Request]:
    """Cases of any status found by case number, reported URL (or part of one), platform
    content id, or requester email. The email is compared through its keyed digest
    (`requester_digest`): nothing is decrypted, and the typed address is not kept."""
    text = text.strip()[:2048]
    if not text:
        return []
    query = select(Request).options(selectinload(Request.items))
    number = normalize_case_number(text) if len(text) <= 64 else None
    if number:
        where: ColumnElement[bool] = Request.case_number == number
    elif "@" in text and " " not in text and "/" not in text:
        where = Request.requester_digest == requester_digest(settings, text)
    else:
        items = select(RequestItem.request_id).where(
            or_(
                RequestItem.content_id == text,
                RequestItem.url.contains(text, autoescape=True),
            )
        )
        where = Request.id.in_(items)
    order = (Request.deadline_at.desc(), Request.id.desc())
    return list(session.scalars(query.where(where).order_by(*order).limit(limit)))


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
