"""What a requester can do with a case number and its secret: see it, add to it, withdraw it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.cases.deadlines import OPEN_STATUSES
from rescind.cases.errors import CaseClosed, CaseNotFound, InvalidRequest
from rescind.cases.identifiers import normalize_case_number, normalize_secret
from rescind.cases.validation import MAX_SUPPORTING, clean, validate_text
from rescind.config import Settings
from rescind.security import audit
from rescind.security.passwords import verify_secret
from rescind.store.columns import utcnow
from rescind.store.models import Request, RequestEvent, RequestItem
from rescind.store.statuses import ItemStatus, RequestStatus

# Links in added information become items of the case, reviewed like the first ones.
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MAX_ADDED_LINKS = 20
MAX_URL = 2048
# A case whose removal is under way still takes new links (a new copy the person found).
ACCEPTS_INFORMATION = (*OPEN_STATUSES, RequestStatus.REMOVAL_PENDING)


class WithdrawHook(Protocol):
    """Called when a request is withdrawn: withdraws its hashes from the banks and the
    partners (`rescind.cases.enforcement.withdraw_hashes`).

    A required parameter of `withdraw`, never optional: a caller that forgot it would close
    the case while its hashes kept blocking in the person's name."""

    def __call__(self, session: Session, settings: Settings, request: Request, /) -> None:
        """Undo what the removal of `request` banked, in `session`'s transaction."""


def open_case(session: Session, case_number: str, secret: str) -> Request:
    """The case for `case_number` if `secret` is its secret; else `CaseNotFound`.

    Unknown case and wrong secret take the same time and raise the same error (no oracle).
    """
    number = normalize_case_number(case_number)
    request = (
        session.scalar(select(Request).where(Request.case_number == number)) if number else None
    )
    ok = verify_secret(request.secret_hash if request else None, normalize_secret(secret))
    if request is None or not ok:
        raise CaseNotFound()
    audit.record(
        session,
        "requester",
        "request.status_view",
        subject_type="request",
        subject_id=request.case_number,
    )
    return request


def get_case(session: Session, handle: str) -> Request:
    """A case by its random handle (for a requester already signed in to its status page;
    the session names the case by handle, never by row id)."""
    request = (
        session.scalar(select(Request).where(Request.handle == handle))
        if 20 <= len(handle) <= 64
        else None
    )
    if request is None:
        raise CaseNotFound()
    return request


def add_information(
    session: Session, request: Request, text: str | None, *, now: datetime | None = None
) -> RequestEvent:
    """Attach more information from the requester; a case waiting on them goes back to review.

    Each new link in the text becomes an item of the case, pending a reviewer's decision (a case
    whose removal is under way is flagged for review: it is not removed until the new item is
    decided)."""
    if request.status not in ACCEPTS_INFORMATION:
        raise CaseClosed()
    value = clean(text)
    errors = validate_text("information", value, MAX_SUPPORTING, required=True, multiline=True)
    if errors:
        raise InvalidRequest(errors)
    now = now or utcnow()
    event = RequestEvent(kind="info_added", detail={"text": value}, public=True, at=now)
    request.events.append(event)
    _add_links(request, value or "")
    if request.status == RequestStatus.NEED_INFO:
        request.status = (
            RequestStatus.IN_REVIEW if request.assigned_to_id else RequestStatus.RECEIVED
        )
    request.updated_at = now
    session.flush()
    audit.record(
        session,
        "requester",
        "request.info_added",
        subject_type="request",
        subject_id=request.case_number,
    )
    return event


def _add_links(request: Request, text: str) -> None:
    known = {item.url for item in request.items if item.url}
    added = 0
    for match in _LINK.finditer(text):
        url = match.group(0).rstrip(".,;:!?)]")
        if url in known or len(url) > MAX_URL or added >= MAX_ADDED_LINKS:
            continue
        known.add(url)
        request.items.append(RequestItem(url=url, status=ItemStatus.PENDING))
        added += 1
    if added and request.status == RequestStatus.REMOVAL_PENDING:
        request.needs_review = True


def withdraw(
    session: Session,
    settings: Settings,
    request: Request,
    *,
    on_withdraw: WithdrawHook,
    now: datetime | None = None,
) -> None:
    """Withdraw the request and the person's hashes at their wish.

    `on_withdraw` takes every hash banked for it out of the banks and the partners' copies
    (whatever the status: a hash may be banked before the case closes), and the hashes the
    person gave are erased from the case, so nothing keeps blocking or matching in their name.
    Content already removed stays removed: only a reviewer restores it (the status page says
    so before the person confirms)."""
    if request.status == RequestStatus.WITHDRAWN:
        raise CaseClosed()
    now = now or utcnow()
    was_actioned = request.status in (RequestStatus.REMOVAL_PENDING, RequestStatus.REMOVED)
    request.status = RequestStatus.WITHDRAWN
    request.closed_at = now
    request.updated_at = now
    request.events.append(RequestEvent(kind="withdrawn", detail=None, public=True, at=now))
    erased = 0
    for item in request.items:
        if item.pdq or item.views or item.md5 or item.sha256:
            item.pdq, item.views, item.md5, item.sha256 = None, None, None, None
            erased += 1
    session.flush()
    on_withdraw(session, settings, request)
    audit.record(
        session,
        "requester",
        "request.withdraw",
        subject_type="request",
        subject_id=request.case_number,
        detail={"was_actioned": was_actioned, "items_hashes_erased": erased},
    )
    notify.notify_requester(session, request, "withdrawn")
