"""The queue, the case page, claiming and deciding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.cases import notes, queue, review
from rescind.cases.deadlines import OPEN_STATUSES, clock
from rescind.cases.errors import (
    CaseClosed,
    CaseNotFound,
    ClaimConflict,
    InvalidDecision,
    NotAllowed,
)
from rescind.cases.intake import signature_of
from rescind.cases.progress import item_progress
from rescind.cases.reasons import CANNED_REPLIES, REJECT_REASONS
from rescind.cases.restore import removal_actions, restore_removed
from rescind.cases.validation import CHANNELS, LANGUAGES
from rescind.config import Settings
from rescind.exchange import verdicts
from rescind.platform.endpoints import active_endpoints
from rescind.security import audit
from rescind.security.crypto import Sealer
from rescind.store.columns import utcnow
from rescind.store.models import User
from rescind.store.statuses import DecisionOutcome, ItemStatus, RequestStatus
from rescind.web.console.auth_routes import FormDep
from rescind.web.console.deps import Staff, StaffDep
from rescind.web.console.session import console_t, csrf_ok, render
from rescind.web.deps import RowId, ServicesDep, SettingsDep
from rescind.web.security import CSP, CSRF_FIELD

router = APIRouter(prefix="/console", include_in_schema=False)


def countdown(seconds: int) -> str:
    """`5h 03m left` or `overdue by 1h 20m` (the JS keeps it ticking)."""
    t = console_t()
    minutes = abs(seconds) // 60
    text = f"{minutes // 60}h {minutes % 60:02d}m"
    return (t.gettext("%s left") if seconds >= 0 else t.gettext("overdue by %s")) % text


def _usernames(staff: Staff) -> dict[int, str]:
    return {u.id: u.username for u in staff.db.scalars(select(User))}


@router.get("")
def queue_page(
    request: Request,
    staff: StaffDep,
    settings: SettingsDep,
    status: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's way to read repeated params
    channel: str = "",
    language: str = "",
    mine: int = 0,
    q: str = "",
) -> Response:
    """Open cases, the nearest deadline first, with filters; or, with `q`, the cases of any
    status found by case number, URL, content id or requester email."""
    flt = queue.QueueFilter(
        statuses=tuple(status) or OPEN_STATUSES,
        channel=channel if channel in CHANNELS else None,
        language=language if language in LANGUAGES else None,
        assigned_to_id=staff.user.id if mine else None,
        # Cases whose removal came back are open again for a reviewer.
        with_flagged=not status,
    )
    now = utcnow()
    search = q.strip()[:2048]
    cases = (
        queue.search_cases(staff.db, settings, search)
        if search
        else queue.list_queue(staff.db, flt)
    )
    names = _usernames(staff)
    rows = [
        {
            "case": c,
            "clock": clock(c, now),
            "countdown": countdown(clock(c, now).seconds_left),
            "assignee": names.get(c.assigned_to_id or 0),
        }
        for c in cases
    ]
    return render(
        request,
        "console/queue.html",
        {
            "rows": rows,
            "filter": flt,
            "search": search,
            "statuses": queue.STATUSES,
            "channels": CHANNELS,
            "languages_all": LANGUAGES,
            "no_endpoint": not active_endpoints(staff.db, settings),
        },
        user=staff.user,
        session=staff.session,
    )


def _not_found(request: Request, staff: Staff) -> Response:
    # The same page for a mistyped and an unknown case number.
    return render(
        request,
        "console/not_found.html",
        {},
        user=staff.user,
        session=staff.session,
        status_code=404,
    )


@router.get("/find")
def find(request: Request, staff: StaffDep, case: str = "") -> Response:
    """Jump to a case by its number (as a requester reads it out), typos tolerated."""
    try:
        found = queue.find_case(staff.db, case)
    except CaseNotFound:
        return _not_found(request, staff)
    return RedirectResponse(f"/console/cases/{found.case_number}", status_code=303)


def _media_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.console_media_origins.split(",") if o.strip()]


def _previewable(url: str | None, origins: list[str]) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" in origins


@router.get("/cases/{case_number}")
def case_page(
    request: Request,
    case_number: str,
    staff: StaffDep,
    settings: SettingsDep,
    services: ServicesDep,
    contact: int = 0,
    done: str = "",
    error: str = "",
    detail: str = "",
) -> Response:
    """Everything about one case. Each view is audited; contact details only on request."""
    try:
        case = queue.find_case(staff.db, case_number)
    except CaseNotFound:
        return _not_found(request, staff)
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "request.view",
        subject_type="request",
        subject_id=case.case_number,
    )
    details: dict[str, str | None] | None = None
    if contact and staff.can_decide and case.contact_purged_at is None:
        sealer = Sealer(settings)
        details = {
            "name": sealer.open(case.requester_name_enc),
            "email": sealer.open(case.requester_email_enc),
            "phone": sealer.open(case.requester_phone_enc) if case.requester_phone_enc else None,
            # Sealed like the contact details since 0007; shown and audited with them.
            "signature": signature_of(settings, case),
        }
        audit.record(
            staff.db,
            f"user:{staff.user.id}",
            "request.contact_view",
            subject_type="request",
            subject_id=case.case_number,
            detail={"fields": ["name", "email", "phone", "signature"]},
        )
    origins = _media_origins(settings)
    now = utcnow()
    state = clock(case, now)
    can_decide = staff.can_decide and case.status in OPEN_STATUSES
    pending_items = any(i.status == ItemStatus.PENDING for i in case.items)
    plans = (
        {p.item_id: p for p in services.enforce.plan(staff.db, settings, case)}
        if staff.can_decide and (case.status in OPEN_STATUSES or pending_items)
        else {}
    )
    context: dict[str, Any] = {
        "case": case,
        "clock": state,
        "countdown": countdown(state.seconds_left),
        "names": _usernames(staff),
        "contact": details,
        "can_decide": can_decide,
        "can_resolve": staff.can_decide and case.status == RequestStatus.REMOVAL_PENDING,
        "can_restore": staff.can_decide and bool(removal_actions(staff.db, case)),
        "progress": item_progress(staff.db, case),
        "plans": plans,
        "item_choices": review.ITEM_CHOICES,
        "no_endpoint": not active_endpoints(staff.db, settings),
        "can_see_contact": staff.can_decide,
        "enforcement": queue.enforcement(staff.db, case),
        "verdicts": verdicts.verdicts_of_case(staff.db, case.id),
        "related": queue.related_cases(staff.db, case),
        "previews": {i.id: _previewable(i.url, origins) for i in case.items},
        "reasons": REJECT_REASONS,
        "replies": CANNED_REPLIES,
        "colleagues": [u for u in review.active_reviewers(staff.db) if u.id != staff.user.id],
        "done": done,
        "error": error,
        "error_detail": detail[:300],
    }
    response = render(request, "console/case.html", context, user=staff.user, session=staff.session)
    if origins:
        response.headers["content-security-policy"] = CSP.replace(
            "img-src 'self' data:", "img-src 'self' data: " + " ".join(origins)
        )
    return response


def _form_id(form: FormData, name: str) -> int | None:
    """A row id posted in `name`, or None: ASCII digits only (`str.isdigit` also passes "²",
    which `int` refuses) and short enough for a 64-bit column."""
    value = form.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _back(case_number: str, **params: str) -> RedirectResponse:
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return RedirectResponse(
        f"/console/cases/{quote(case_number)}" + (f"?{query}" if query else ""), status_code=303
    )


def _act(
    staff: Staff,
    form: FormData,
    case_number: str,
    done: str,
    action: Callable[[], object],
    *,
    rollback: bool = True,
) -> Response:
    """A reviewer's action on a case, from its page: the CSRF check, then `action`, then
    back to the case page saying `done`, or the error a service raised (`invalid` with its
    message, `conflict` when someone else changed the assignment, `not_allowed`), its
    changes rolled back unless not `rollback` (they wrote nothing before refusing)."""
    if not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return _back(case_number, error="expired")
    try:
        action()
    except InvalidDecision as exc:
        error, params = "invalid", {"detail": exc.message}
    except ClaimConflict:
        error, params = "conflict", {}
    except (CaseClosed, NotAllowed, CaseNotFound):
        error, params = "not_allowed", {}
    else:
        return _back(case_number, done=done)
    if rollback:
        staff.db.rollback()
    return _back(case_number, error=error, **params)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@router.post("/cases/{case_number}/claim")
def claim(case_number: str, form: FormDep, staff: StaffDep) -> Response:
    """Take the case (optimistic: fails if someone else took it since the page was loaded)."""

    def act() -> None:
        case = queue.find_case(staff.db, case_number)
        expected = _form_id(form, "expected_assignee")
        review.claim(staff.db, case, staff.reviewer, expected_assignee_id=expected)

    return _act(staff, form, case_number, "claimed", act, rollback=False)


@router.post("/cases/{case_number}/assign")
def assign(case_number: str, form: FormDep, staff: StaffDep) -> Response:
    """Hand the case to a colleague (fails if the assignment changed since the page loaded)."""

    def act() -> None:
        assignee = _form_id(form, "assignee")
        if assignee is None:
            raise InvalidDecision("choose a colleague")
        case = queue.find_case(staff.db, case_number)
        expected = _form_id(form, "expected_assignee")
        review.assign(staff.db, case, staff.reviewer, assignee, expected_assignee_id=expected)

    return _act(staff, form, case_number, "assigned", act, rollback=False)


@router.post("/cases/{case_number}/notes")
def add_note(case_number: str, form: FormDep, staff: StaffDep) -> Response:
    """Add an internal note to the case (staff only, audited)."""

    def act() -> None:
        case = queue.find_case(staff.db, case_number)
        notes.add_note(staff.db, case, staff.reviewer, _text(form, "body"))

    return _act(staff, form, case_number, "noted", act)


@router.post("/cases/{case_number}/release")
def release(case_number: str, form: FormDep, staff: StaffDep) -> Response:
    """Put the case back in the queue."""
    if not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return _back(case_number, error="expired")
    try:
        review.release(staff.db, queue.find_case(staff.db, case_number), staff.reviewer)
    except (ClaimConflict, CaseNotFound):
        return _back(case_number, error="conflict")
    except CaseClosed:
        return _back(case_number, error="not_allowed")
    return _back(case_number, done="released")


@router.post("/cases/{case_number}/decision")
def decide(case_number: str, form: FormDep, staff: StaffDep, services: ServicesDep) -> Response:
    """Record the reviewer's decision."""

    def act() -> None:
        case = queue.find_case(staff.db, case_number)
        outcome = _text(form, "outcome")
        items = {
            item.id: review.ItemChoice(ItemStatus(choice), _text(form, f"item-{item.id}-note"))
            for item in case.items
            if (choice := _text(form, f"item-{item.id}")) in review.ITEM_CHOICES
        }
        review.decide(
            staff.db,
            services.settings,
            case,
            staff.reviewer,
            outcome or "",
            reason_code=_text(form, "reason_code") if outcome == DecisionOutcome.REJECT else None,
            note=_text(form, "note"),
            message_to_requester=_text(form, "message"),
            reply_code=_text(form, "reply") or None,
            enforce=services.enforce,
            items=items if outcome == DecisionOutcome.REMOVE else None,
        )

    return _act(staff, form, case_number, "decided", act)


@router.post("/cases/{case_number}/leads/{lead_id}")
def decide_lead(
    case_number: str, lead_id: RowId, form: FormDep, staff: StaffDep, services: ServicesDep
) -> Response:
    """Confirm a lead (it is actioned and swept for copies) or dismiss it."""

    def act() -> None:
        review.decide_lead(
            staff.db,
            services.settings,
            queue.find_case(staff.db, case_number),
            staff.reviewer,
            lead_id,
            confirm=form.get("decision") == "confirm",
            enforce=services.enforce,
        )

    return _act(staff, form, case_number, "lead", act)


@router.post("/cases/{case_number}/items/{item_id}")
def resolve_item(
    case_number: str, item_id: RowId, form: FormDep, staff: StaffDep, services: ServicesDep
) -> Response:
    """Decide one item of a removal under way (added later, or whose removal came back)."""

    def act() -> None:
        case = queue.find_case(staff.db, case_number)
        choice = form.get("outcome")
        if choice not in review.ITEM_CHOICES:
            raise InvalidDecision("choose what to do with the item")
        review.resolve_item(
            staff.db,
            services.settings,
            case,
            staff.reviewer,
            item_id,
            review.ItemChoice(ItemStatus(str(choice)), _text(form, "note")),
            enforce=services.enforce,
        )

    return _act(staff, form, case_number, "item", act)


@router.post("/cases/{case_number}/restore")
def restore(case_number: str, form: FormDep, staff: StaffDep) -> Response:
    """Restore what the case removed (withdrawn, or removed in error), with a required reason."""

    def act() -> None:
        case = queue.find_case(staff.db, case_number)
        restore_removed(staff.db, case, staff.reviewer, _text(form, "reason"))

    return _act(staff, form, case_number, "restored", act)
