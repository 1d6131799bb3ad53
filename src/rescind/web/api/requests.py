"""`/v1/requests`: file a removal request, read a case, record a decision (same services as the
public form and the console)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
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
from rescind.cases.reasons import REJECT_REASONS
from rescind.cases.validation import ItemInput, RequestInput
from rescind.locale import translations
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import Request as Case
from rescind.store.statuses import Channel, DecisionOutcome, Role
from rescind.web.api.auth import RequestsReadCaller, RequestsWriteCaller, ReviewCaller
from rescind.web.api.openapi import api_doc
from rescind.web.api.schemas import CaseOut, RequestCreatedOut
from rescind.web.deps import ServicesDep, SessionDep, SettingsDep
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


class DecisionIn(BaseModel):
    """A decision. `reason`: a reject reason code, or free text (then code `other`, and the text
    is what the requester is told unless `message` is given)."""

    outcome: str
    reason: str | None = None
    reason_code: str | None = None
    note: str | None = None
    message: str | None = None
    automated: bool = False


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
        items=[
            ItemInput(
                url=_s(i.url),
                content_id=_s(i.content_id),
                pdq=[h.strip().lower() for h in i.pdq if h.strip()],
                md5=(_s(i.md5) or "").lower() or None,
                sha256=(_s(i.sha256) or "").lower() or None,
                description=_s(i.description),
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
    """File a removal request; answers with the case number and its secret (shown once)."""
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


def case_json(session: Any, case: Case) -> dict[str, Any]:
    """The API's view of a case (no contact details)."""
    found = queue.enforcement(session, case)
    state = clock(case, utcnow())
    return {
        "case_number": case.case_number,
        "status": case.status,
        "channel": case.channel,
        "language": case.language,
        "representative": case.representative,
        "received_at": _iso(case.received_at),
        "deadline_at": _iso(case.deadline_at),
        "closed_at": _iso(case.closed_at),
        "overdue": state.overdue,
        "risk_level": case.risk_level,
        "items": [
            {
                "url": i.url,
                "content_id": i.content_id,
                "pdq": i.pdq or [],
                "md5": i.md5,
                "sha256": i.sha256,
            }
            for i in case.items
        ],
        "decisions": [
            {
                "outcome": d.outcome,
                "reason_code": d.reason_code,
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
                "type": a.type,
                "content_id": a.content_id,
                "status": a.status,
                "attempts": a.attempts,
                "delivered_at": _iso(a.delivered_at),
            }
            for a in found.actions
        ],
    }


def _find(session: Any, case_number: str) -> Case:
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
            automated=body.automated,
            enforce=services.enforce,
        )
    except InvalidDecision as exc:
        raise field_problem("Invalid decision", "reason", exc.message) from exc
    except CaseClosed as exc:
        raise ProblemError(409, "Case closed", f"the case is {case.status}") from exc
    except ClaimConflict as exc:
        raise ProblemError(409, "Case assigned", "a reviewer holds this case") from exc
    return case_json(session, case)
