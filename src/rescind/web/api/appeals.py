"""`POST /v1/appeals` and `GET /v1/appeals/{id}`: an uploader's appeal against a removal
(DSA Art. 20), filed by the platform with its `content` key (the key that confirms actions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases.appeals import AppealError, AppealNotFound, file_removal_appeal, get_appeal
from rescind.platform.actions import RESTORE
from rescind.security import audit
from rescind.store.models import Action, Appeal, Request
from rescind.store.statuses import AppealKind
from rescind.web.api.auth import ContentCaller
from rescind.web.api.openapi import api_doc
from rescind.web.api.schemas import AppealIn, AppealOut
from rescind.web.deps import SessionDep, SettingsDep
from rescind.web.problems import ProblemError, field_problem

router = APIRouter(prefix="/v1", tags=["appeals"])


def _problem(exc: AppealError) -> ProblemError:
    if exc.status == 422:
        return field_problem("Invalid appeal", exc.field, exc.message)
    title = "Not found" if exc.status == 404 else "Appeal window closed"
    return ProblemError(exc.status, title, exc.message)


def _out(session: Session, appeal: Appeal) -> AppealOut:
    request = session.get(Request, appeal.request_id) if appeal.request_id else None
    restores = list(appeal.restore_action_ids or [])
    action = session.get(Action, appeal.action_id) if appeal.action_id else None
    if appeal.restore_action_ids is None and appeal.status == "upheld" and action is not None:
        # Upheld before migration 0015 recorded them: the restores written since, as then.
        assert appeal.decided_at is not None
        query = select(Action.id).where(
            Action.type == RESTORE,
            Action.created_at >= appeal.decided_at,
            Action.request_id.is_(None)
            if appeal.request_id is None
            else Action.request_id == appeal.request_id,
        )
        if appeal.request_id is None:  # a removal no case asked for: its own content only
            query = query.where(
                Action.content_id == action.content_id
                if action.content_id
                else Action.url == action.url
            )
        restores = list(session.scalars(query.order_by(Action.id)))
    return AppealOut(
        id=appeal.id,
        kind=appeal.kind,
        status=appeal.status,
        action_id=appeal.action_id,
        case_number=request.case_number if request is not None else None,
        filed_at=appeal.filed_at.isoformat(),
        decided_at=appeal.decided_at.isoformat() if appeal.decided_at else None,
        reason=appeal.reason,
        restore_action_ids=restores,
    )


@router.post(
    "/appeals",
    response_model=AppealOut,
    status_code=201,
    summary="Appeal a removal",
    **api_doc("content", 404, 409, 422),
)
def file_appeal(
    body: AppealIn,
    session: SessionDep,
    settings: SettingsDep,
    caller: ContentCaller,
    response: Response,
) -> AppealOut:
    """The uploader of removed content complains, free, within `RESCIND_APPEAL_WINDOW_DAYS`
    (at least six months) of the removal: `{"action_id", "statement"}`. A reviewer other
    than the one who decided the case upholds it (the content is restored: a
    `content.restore` action follows) or dismisses it, with a reason. One appeal per action:
    filing again answers 200 with the first appeal."""
    try:
        appeal, created = file_removal_appeal(
            session, settings, body.action_id, body.statement, caller.actor
        )
    except AppealError as exc:
        raise _problem(exc) from None
    if not created:
        response.status_code = 200
    return _out(session, appeal)


@router.get(
    "/appeals/{appeal_id}",
    response_model=AppealOut,
    summary="An appeal's status",
    **api_doc("content", 404, 422),
)
def appeal_status(
    appeal_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, caller: ContentCaller
) -> AppealOut:
    """Where an uploader's appeal stands, the reviewer's reason once decided, and the restore
    actions an upheld appeal sent. A requester's appeal is not the platform's to read (404)."""
    try:
        appeal = get_appeal(session, appeal_id)
        if appeal.kind != AppealKind.REMOVAL:
            raise AppealNotFound(f"no appeal {appeal_id}", "id")
    except AppealError as exc:
        raise _problem(exc) from None
    audit.record(session, caller.actor, "appeal.view", subject_type="appeal", subject_id=appeal.id)
    return _out(session, appeal)
