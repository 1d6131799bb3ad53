"""`GET /v1/actions` and `POST /v1/actions/{id}/done`: for platforms without webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.platform.actions import list_actions, mark_done, parse_outcome
from rescind.platform.errors import PlatformError
from rescind.platform.statements import statements_for
from rescind.security import audit
from rescind.store.db import session_settings
from rescind.store.models import Action, Request
from rescind.web.api.auth import ContentCaller
from rescind.web.api.common import problem
from rescind.web.api.openapi import api_doc
from rescind.web.api.schemas import ActionDoneIn, ActionOut, StatementOut
from rescind.web.deps import ROW_ID_MAX, RowId, SessionDep

router = APIRouter(prefix="/v1", tags=["actions"])


def _out(session: Session, actions: list[Action]) -> list[ActionOut]:
    ids = {a.request_id for a in actions if a.request_id is not None}
    cases = dict(
        session.execute(select(Request.id, Request.case_number).where(Request.id.in_(ids))).all()
    )
    statements = statements_for(session, session_settings(session), actions)
    return [
        ActionOut(
            id=a.id,
            type=a.type,
            content_id=a.content_id,
            url=a.url,
            case_number=cases.get(a.request_id) if a.request_id is not None else None,
            idempotency_key=a.idempotency_key,
            status=a.status,
            outcome=a.outcome,
            attempts=a.attempts,
            created_at=a.created_at.isoformat(),
            delivered_at=a.delivered_at.isoformat() if a.delivered_at else None,
            confirmed_at=a.confirmed_at.isoformat() if a.confirmed_at else None,
            statement_of_reasons=StatementOut.model_validate(statements[a.id].as_json()),
        )
        for a in actions
    ]


@router.get(
    "/actions",
    response_model=list[ActionOut],
    summary="List actions",
    **api_doc("content", 422),
)
def actions(
    session: SessionDep,
    caller: ContentCaller,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|confirmed|failed)$")] = None,
    after_id: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ActionOut]:
    """Actions in id order; poll `status=pending` when webhooks are not used."""
    return _out(session, list_actions(session, status=status, after_id=after_id, limit=limit))


@router.post(
    "/actions/{action_id}/done",
    response_model=ActionOut,
    summary="Confirm what was done",
    **api_doc("content", 404, 422),
)
def done(
    action_id: RowId, session: SessionDep, caller: ContentCaller, body: ActionDoneIn | None = None
) -> ActionOut:
    """The platform says what it did: `{"outcome": "removed" | "not_found" | "not_ours" |
    "refused", "note"?}`. A call without a body means "removed" (what this route meant before
    outcomes existed). Stops further deliveries. The first confirmation stands: a repeated call
    changes nothing."""
    body = body or ActionDoneIn()
    try:
        action = mark_done(session, action_id, parse_outcome(body.outcome), body.note)
    except PlatformError as exc:
        raise problem(exc) from None
    audit.record(
        session,
        caller.actor,
        "action.confirmed",
        subject_type="action",
        subject_id=action.id,
        detail={"outcome": action.outcome},
    )
    return _out(session, [action])[0]
