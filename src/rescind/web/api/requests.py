"""`/v1/requests`: file a removal request, read a case, record a decision (same services as the
public form and the console)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from rescind.cases import queue, review
from rescind.cases.deadlines import clock
from rescind.cases.errors import (
    CaseClosed,
    CaseNotFound,
    ClaimConflict,
    InvalidDecision,
    InvalidRequest,
)
from rescind.cases.intake import submit_request
from rescind.cases.progress import item_progress
from rescind.cases.reasons import REJECT_REASONS
from rescind.cases.restore import restore_removed
from rescind.cases.validation import ItemInput, RequestInput
from rescind.locale import translations
from rescind.platform.apikeys import REGULATOR_SCOPE
from rescind.platform.statements import statements_for
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.db import session_settings
from rescind.store.models import Request as Case
from rescind.store.statuses import (
    CLOCK_RUNNING_STATUSES,
    Channel,
    DecisionOutcome,
    ItemStatus,
    RequestStatus,
    Role,
)
from rescind.web.api.auth import RequestsReadCaller, RequestsWriteCaller, ReviewCaller
from rescind.web.api.openapi import api_doc
from rescind.web.api.schemas import (
    CaseListOut,
    CaseOut,
    CasePlanOut,
    CaseSummaryOut,
    ItemPlanOut,
    RequestCreatedOut,
)
from rescind.web.deps import RowId, ServicesDep, SessionDep, SettingsDep
from rescind.web.problems import ProblemError, field_problem
from rescind.web.public.forms import error_message, field_label

router = APIRouter(prefix="/v1/requests", tags=["requests"])


class RequesterIn(BaseModel):
    """Who files the request and how to reach them."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    representative: bool = False


class ItemIn(BaseModel):
    """One depiction: where it is and/or its hashes."""

    url: str | None = None
    content_id: str | None = None
    # A bound on the body only: validation refuses more than MAX_PDQ_PER_ITEM per item with a
    # field error, the same path as the public form's.
    pdq: list[str] = Field(default_factory=list, max_length=1024)
    md5: str | None = None
    sha256: str | None = None
    description: str | None = None
    views: list[str] = Field(
        default_factory=list,
        max_length=1024,
        description="A picture's bank views, as the public form's device hasher sends them: "
        "`<variant>:<quality>:<hash>`, one per variant name (`rescind.media.robust."
        "BANK_VARIANT_NAMES`; at most that many), among them `full` whose hash is one of "
        "`pdq` (the picture's own). Banked by variant name after a remove decision, as the "
        "same views of a file are (docs/api.md).",
    )
    smooth: bool = Field(
        False,
        description="The picture is smooth (a gradient: `rescind.media.robust.is_smooth`): "
        "its hashes are banked as smooth (matched within 16 bits, never blocking). Needs "
        "`views`, whole ones only (`full`, `trimmed`, `trimmed_jpeg`).",
    )


class RequestIn(BaseModel):
    """A removal request. Missing TAKE IT DOWN elements are reported one by one (422)."""

    language: str = "en"
    channel: str = Channel.API.value
    requester: RequesterIn | None = None
    signature: str | None = None
    signed_on: str | None = Field(None, description="ISO date of the signature; default today.")
    good_faith_statement: str | None = None
    supporting_info: str | None = None
    items: list[ItemIn] = Field(default_factory=list, max_length=100)
    share_consent: bool = Field(
        False,
        description="The person agreed that the case's hashes are shared with StopNCII.org "
        "(only PDQ hashes, once the case is decided; never contact details). Default false.",
    )


class ItemDecisionIn(BaseModel):
    """One item's decision in a "remove": remove it, reject it, or record it handled outside
    Rescind (a note says how: required)."""

    id: int = Field(description="The item's id (`items[].id` of the case).")
    outcome: Literal["remove", "rejected", "handled_outside"]
    note: str | None = Field(None, max_length=10000)


class DecisionIn(BaseModel):
    """A decision. `reason`: a reject reason code, or free text (then code `other`, and the text
    is what the requester is told unless `message` is given). `items` decides items one by one
    in a "remove" (unlisted items are removed); without it the outcome applies to every item.
    `reply`: a canned reply code (`rescind.cases.reasons.CANNED_REPLIES`) the requester reads
    in their language, with `message` after it."""

    outcome: str
    reason: str | None = None
    reason_code: str | None = None
    note: str | None = None
    message: str | None = None
    reply: str | None = None
    automated: bool = False
    items: list[ItemDecisionIn] = Field(default_factory=list, max_length=100)


class LeadDecisionIn(BaseModel):
    """`POST /v1/requests/{case}/leads/{id}` body."""

    decision: Literal["confirm", "dismiss"]


class ItemResolutionIn(BaseModel):
    """`POST /v1/requests/{case}/items/{id}` body: decide an item of a case whose removal is
    under way (an item added since, or one whose removal came back)."""

    outcome: Literal["remove", "rejected", "handled_outside"]
    note: str | None = Field(None, max_length=10000)


class RestoreIn(BaseModel):
    """`POST /v1/requests/{case}/restore` body: why what the case removed is restored."""

    reason: str = Field(..., max_length=2000, description="Why (withdrawn, removed in error).")


def _s(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _to_input(body: RequestIn) -> RequestInput:
    person = body.requester or RequesterIn()
    return RequestInput(
        language=body.language,
        channel=body.channel,
        name=_s(person.name),
        email=_s(person.email),
        phone=_s(person.phone),
        representative=person.representative,
        signature=_s(body.signature),
        signed_on=_s(body.signed_on),
        good_faith_statement=_s(body.good_faith_statement),
        supporting_info=_s(body.supporting_info),
        share_consent=body.share_consent,
        items=[
            ItemInput(
                url=_s(i.url),
                content_id=_s(i.content_id),
                pdq=[h.strip().lower() for h in i.pdq if h.strip()],
                md5=(_s(i.md5) or "").lower() or None,
                sha256=(_s(i.sha256) or "").lower() or None,
                description=_s(i.description),
                views=[v.strip().lower() for v in i.views if v.strip()],
                smooth=i.smooth,
            )
            for i in body.items
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=RequestCreatedOut,
    summary="File a removal request",
    **api_doc("requests:write", 422),
)
def create_request(
    body: RequestIn, caller: RequestsWriteCaller, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """File a removal request; answers with the case number and its secret (shown once).
    The `regulator` channel (24-hour clock, first in the queue) also needs the
    `requests:regulator` scope."""
    if body.channel == Channel.REGULATOR and REGULATOR_SCOPE not in caller.scopes:
        raise ProblemError(
            403, "Forbidden", f"the regulator channel needs a key with the {REGULATOR_SCOPE} scope"
        )
    try:
        submission = submit_request(session, settings, _to_input(body), actor=caller.actor)
    except InvalidRequest as exc:
        t = translations("en")
        errors = [
            {"field": e.field, "message": f"{field_label(t, e.field)}: {error_message(t, e)}"}
            for e in exc.errors
        ]
        raise ProblemError(
            422,
            "Invalid removal request",
            f"{len(errors)} field(s) missing or invalid",
            errors=errors,
        ) from exc
    return JSONResponse(
        {
            "case_number": submission.case_number,
            "secret": submission.secret,
            "status": submission.request.status,
            "deadline_at": submission.request.deadline_at.isoformat(),
        },
        status_code=201,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def case_json(session: Session, case: Case) -> dict[str, Any]:
    """The API's view of a case (no contact details)."""
    found = queue.enforcement(session, case)
    statements = statements_for(session, session_settings(session), found.actions)
    progress = item_progress(session, case)
    state = clock(case, utcnow())
    return {
        "case_number": case.case_number,
        "status": case.status,
        "channel": case.channel,
        "language": case.language,
        "representative": case.representative,
        "share_consent": case.share_consent,
        "received_at": _iso(case.received_at),
        "deadline_at": _iso(case.deadline_at),
        "closed_at": _iso(case.closed_at),
        "removed_at": _iso(case.removed_at),
        "needs_review": case.needs_review,
        "child_safety": str(case.child_safety),
        "minor_answer": str(case.minor_answer) if case.minor_answer else None,
        "overdue": state.overdue,
        "risk_level": case.risk_level,
        "items": [
            {
                "id": p.item.id,
                "url": p.item.url,
                "content_id": p.item.content_id,
                "pdq": p.item.pdq or [],
                "md5": p.item.md5,
                "sha256": p.item.sha256,
                "status": p.item.status,
                "state": p.state,
                "note": p.item.decision_note,
            }
            for p in progress
        ],
        "decisions": [
            {
                "outcome": d.outcome,
                "reason_code": d.reason_code,
                "reply_code": d.reply_code,
                "automated": d.automated,
                "reviewer_id": d.reviewer_id,
                "at": _iso(d.at),
            }
            for d in case.decisions
        ],
        "copies": [
            {
                "content_id": c.content_id,
                "url": c.url,
                "state": c.state,
                "distance": c.distance,
                "found_by": c.found_by,
            }
            for c in found.copies
        ],
        "actions": [
            {
                "id": a.id,
                "type": a.type,
                "item_id": a.item_id,
                "content_id": a.content_id,
                "url": a.url,
                "status": a.status,
                "outcome": a.outcome,
                "attempts": a.attempts,
                "delivered_at": _iso(a.delivered_at),
                "confirmed_at": _iso(a.confirmed_at),
                "statement_of_reasons": statements[a.id].as_json(),
            }
            for a in found.actions
        ],
        "leads": [
            {
                "id": lead.id,
                "item_id": lead.item_id,
                "content_id": lead.content_id,
                "url": lead.url,
                "status": lead.status,
            }
            for p in progress
            for lead in p.leads
        ],
    }


def _cursor(case: Case) -> str:
    raw = f"{case.updated_at.isoformat()}|{case.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, case_id = raw.split("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, int(case_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise field_problem("Invalid cursor", "cursor", "not a cursor from this API") from exc


@router.get(
    "",
    response_model=CaseListOut,
    summary="List cases",
    **api_doc("requests:read", 422),
)
def list_requests(
    caller: RequestsReadCaller,
    session: SessionDep,
    status: Annotated[RequestStatus | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only cases past their deadline.")] = None,
    updated_since: Annotated[datetime | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """Cases in the order they last changed, oldest change first: poll with `updated_since`,
    page with `cursor` (the `next` of the previous page)."""
    query = select(Case)
    if status is not None:
        query = query.where(Case.status == status)
    if channel is not None:
        query = query.where(Case.channel == channel)
    now = utcnow()
    if overdue is not None:
        late = and_(Case.status.in_(CLOCK_RUNNING_STATUSES), Case.deadline_at < now)
        query = query.where(late if overdue else ~late)
    if updated_since is not None:
        if updated_since.tzinfo is None:
            raise field_problem("Invalid time", "updated_since", "give a time zone (Z or +00:00)")
        query = query.where(Case.updated_at >= updated_since)
    if cursor:
        at, case_id = _after(cursor)
        query = query.where(
            or_(Case.updated_at > at, and_(Case.updated_at == at, Case.id > case_id))
        )
    cases = list(session.scalars(query.order_by(Case.updated_at, Case.id).limit(limit + 1)))
    page = cases[:limit]
    items = [
        CaseSummaryOut(
            case_number=c.case_number,
            status=c.status,
            channel=c.channel,
            received_at=c.received_at.isoformat(),
            deadline_at=c.deadline_at.isoformat(),
            removed_at=_iso(c.removed_at),
            updated_at=c.updated_at.isoformat(),
            overdue=clock(c, now).overdue,
            needs_review=c.needs_review,
        )
        for c in page
    ]
    return CaseListOut(items=items, next=_cursor(page[-1]) if len(cases) > limit else None)


def _find(session: Session, case_number: str) -> Case:
    try:
        return queue.find_case(session, case_number)
    except CaseNotFound as exc:
        raise ProblemError(404, "Not found", "no such case") from exc


@router.get(
    "/{case_number}",
    response_model=CaseOut,
    summary="Read a case",
    **api_doc("requests:read", 404, 422),
)
def read_request(case_number: str, caller: RequestsReadCaller, session: SessionDep) -> Any:
    """Status, items, decisions, copies found and actions of a case."""
    case = _find(session, case_number)
    audit.record(
        session,
        caller.actor,
        "request.view",
        subject_type="request",
        subject_id=case.case_number,
        detail={"via": "api"},
    )
    return case_json(session, case)


@router.post(
    "/{case_number}/decision",
    response_model=CaseOut,
    summary="Decide a case",
    **api_doc("review", 404, 409, 422),
)
def decide_request(
    case_number: str,
    body: DecisionIn,
    caller: ReviewCaller,
    session: SessionDep,
    services: ServicesDep,
) -> Any:
    """Remove, reject or ask for information: the same decision service as the console."""
    case = _find(session, case_number)
    code, note, message = _s(body.reason_code), _s(body.note), _s(body.message)
    reason = _s(body.reason)
    if reason and not code:
        if reason in REJECT_REASONS:
            code = reason
        else:
            note = note or reason
            if body.outcome == DecisionOutcome.REJECT:
                code, message = "other", message or reason
    items = {i.id: review.ItemChoice(ItemStatus(i.outcome), _s(i.note)) for i in body.items}
    try:
        review.decide(
            session,
            services.settings,
            case,
            review.Reviewer(caller.actor, Role.REVIEWER),
            body.outcome,
            reason_code=code,
            note=note,
            message_to_requester=message,
            reply_code=_s(body.reply),
            automated=body.automated,
            enforce=services.enforce,
            items=items,
        )
    except InvalidDecision as exc:
        raise field_problem("Invalid decision", "reason", exc.message) from exc
    except CaseClosed as exc:
        raise ProblemError(409, "Case closed", f"the case is {case.status}") from exc
    except ClaimConflict as exc:
        raise ProblemError(409, "Case assigned", "a reviewer holds this case") from exc
    return case_json(session, case)


@router.get(
    "/{case_number}/plan",
    response_model=CasePlanOut,
    summary="What a removal would do",
    **api_doc("review", 404, 422),
)
def plan_request(
    case_number: str, caller: ReviewCaller, session: SessionDep, services: ServicesDep
) -> Any:
    """Per item, before deciding: the actions a removal would write, the leads it would list,
    and the items that would produce nothing (they cannot be decided "remove")."""
    case = _find(session, case_number)
    plans = services.enforce.plan(session, services.settings, case)
    return CasePlanOut(
        items=[
            ItemPlanOut(
                item_id=p.item_id, actions=list(p.targets), leads=list(p.leads), nothing=p.nothing
            )
            for p in plans
        ],
        actions=sum(len(p.targets) for p in plans),
        leads=sum(len(p.leads) for p in plans),
        nothing=[p.item_id for p in plans if p.nothing],
    )


@router.post(
    "/{case_number}/leads/{lead_id}",
    response_model=CaseOut,
    summary="Confirm or dismiss a lead",
    **api_doc("review", 404, 409, 422),
)
def decide_lead(
    case_number: str,
    lead_id: RowId,
    body: LeadDecisionIn,
    caller: ReviewCaller,
    session: SessionDep,
    services: ServicesDep,
) -> Any:
    """Confirm a lead (its content is actioned and swept for copies) or dismiss it."""
    case = _find(session, case_number)
    try:
        review.decide_lead(
            session,
            services.settings,
            case,
            review.Reviewer(caller.actor, Role.REVIEWER),
            lead_id,
            confirm=body.decision == "confirm",
            enforce=services.enforce,
        )
    except InvalidDecision as exc:
        raise ProblemError(404, "Not found", exc.message) from exc
    except CaseClosed as exc:
        raise ProblemError(409, "Lead decided", "the lead or the case is decided") from exc
    return case_json(session, case)


@router.post(
    "/{case_number}/items/{item_id}",
    response_model=CaseOut,
    summary="Decide one item of a removal under way",
    **api_doc("review", 404, 409, 422),
)
def resolve_item(
    case_number: str,
    item_id: RowId,
    body: ItemResolutionIn,
    caller: ReviewCaller,
    session: SessionDep,
    services: ServicesDep,
) -> Any:
    """An item added after the decision (remove, reject, handled outside), or one whose removal
    came back (handled outside or rejected, with a note)."""
    case = _find(session, case_number)
    try:
        review.resolve_item(
            session,
            services.settings,
            case,
            review.Reviewer(caller.actor, Role.REVIEWER),
            item_id,
            review.ItemChoice(ItemStatus(body.outcome), _s(body.note)),
            enforce=services.enforce,
        )
    except InvalidDecision as exc:
        raise field_problem("Invalid decision", "outcome", exc.message) from exc
    except CaseClosed as exc:
        raise ProblemError(409, "Case not being removed", f"the case is {case.status}") from exc
    return case_json(session, case)


@router.post(
    "/{case_number}/restore",
    response_model=CaseOut,
    summary="Restore what a case removed",
    **api_doc("review", 404, 422),
)
def restore_request(
    case_number: str, body: RestoreIn, caller: ReviewCaller, session: SessionDep
) -> Any:
    """One `content.restore` action per content the case's removals named (delivered like
    removals), the content live again, the case's hashes withdrawn; audited with the reason.
    Idempotent: a second restore writes nothing."""
    case = _find(session, case_number)
    try:
        restore_removed(
            session, case, review.Reviewer(caller.actor, Role.REVIEWER), _s(body.reason)
        )
    except InvalidDecision as exc:
        raise field_problem("Invalid restore", "reason", exc.message) from exc
    return case_json(session, case)
