"""The action outbox: what the platform must do (remove content), written in the deciding
transaction and delivered by the worker as signed webhooks, or marked done by hand."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.jobs import enqueue
from rescind.platform.errors import ActionNotFoundError
from rescind.store.columns import utcnow
from rescind.store.models import Action, Content
from rescind.store.statuses import ActionStatus, ContentState

REMOVE = "content.remove"
DELIVER_JOB = "action.deliver"
PENDING, DELIVERED, DONE, FAILED = (
    ActionStatus.PENDING,
    ActionStatus.DELIVERED,
    ActionStatus.DONE,
    ActionStatus.FAILED,
)


def idempotency_key(action_type: str, content_id: str, request_id: int | None) -> str:
    """The same action for the same content and request always has the same key."""
    return hashlib.sha256(f"{action_type}\n{content_id}\n{request_id}".encode()).hexdigest()


def schedule_delivery(session: Session, action: Action, *, at: datetime | None = None) -> None:
    """Enqueue the job delivering `action`'s next attempt (one job per attempt number)."""
    run_at = at or action.next_attempt_at
    enqueue(
        session,
        DELIVER_JOB,
        {"action_id": action.id},
        run_at=run_at,
        unique_key=f"{DELIVER_JOB}:{action.id}:{action.attempts}:{int(run_at.timestamp())}",
    )


def create_action(
    session: Session, action_type: str, content_id: str, *, request_id: int | None
) -> tuple[Action, bool]:
    """The outbox row for this action (created and scheduled if new); (action, created)."""
    key = idempotency_key(action_type, content_id, request_id)
    existing = session.scalar(select(Action).where(Action.idempotency_key == key))
    if existing is not None:
        return existing, False
    now = utcnow()
    action = Action(
        type=action_type,
        content_id=content_id,
        request_id=request_id,
        idempotency_key=key,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(action)
    session.flush()
    schedule_delivery(session, action)
    return action, True


def get_action(session: Session, action_id: int) -> Action:
    """The action with `action_id`, or ActionNotFoundError."""
    action = session.get(Action, action_id)
    if action is None:
        raise ActionNotFoundError(f"no action {action_id}", field="id")
    return action


def settle(session: Session, action: Action, status: ActionStatus) -> None:
    """Record that the platform took the action (acknowledged webhook or mark done)."""
    action.status = status
    action.delivered_at = action.delivered_at or utcnow()
    action.last_error = None
    if action.type == REMOVE:
        content = session.scalar(select(Content).where(Content.content_id == action.content_id))
        if content is not None:
            content.state = ContentState.REMOVED
    session.flush()


def mark_done(session: Session, action_id: int) -> Action:
    """A platform without webhooks confirms it took the action; idempotent."""
    action = get_action(session, action_id)
    if action.status in (PENDING, FAILED):
        settle(session, action, DONE)
    return action


def list_actions(
    session: Session, *, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Action]:
    """Actions in id order (a platform without webhooks polls `status=pending`)."""
    query = select(Action).where(Action.id > after_id).order_by(Action.id).limit(limit)
    if status:
        query = query.where(Action.status == status)
    return list(session.scalars(query))
