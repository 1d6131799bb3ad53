"""The action outbox: what the platform must do (remove content), written in the deciding
transaction, delivered by the worker as signed webhooks, and confirmed by the platform with
what it did (`POST /v1/actions/{id}/done` or a JSON answer to the webhook).

An action moves `pending` -> `delivered` (an endpoint answered 2xx) -> `confirmed` (with an
`ActionOutcome`), or `failed` when delivery gave up. Only a confirmation says the content is
gone; the case follows its actions (`rescind.platform.lifecycle`)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.jobs import enqueue
from rescind.platform.errors import ActionNotFoundError, InvalidSignalError
from rescind.platform.lifecycle import REMOVE as REMOVE  # the action types, re-exported
from rescind.platform.lifecycle import RESTORE as RESTORE
from rescind.platform.lifecycle import refresh_case
from rescind.store.columns import utcnow
from rescind.store.models import Action, Content
from rescind.store.statuses import GONE_OUTCOMES, ActionOutcome, ActionStatus, ContentState

DELIVER_JOB = "action.deliver"
PENDING, DELIVERED, CONFIRMED, FAILED = (
    ActionStatus.PENDING,
    ActionStatus.DELIVERED,
    ActionStatus.CONFIRMED,
    ActionStatus.FAILED,
)
MAX_NOTE = 1000


def idempotency_key(
    action_type: str, content_id: str | None, request_id: int | None, *, url: str | None = None
) -> str:
    """The same action for the same content (or URL) and request always has the same key."""
    target = content_id if content_id is not None else f"url:{url}"
    return hashlib.sha256(f"{action_type}\n{target}\n{request_id}".encode()).hexdigest()


def schedule_delivery(session: Session, action: Action, *, at: datetime | None = None) -> None:
    """Enqueue the job delivering `action`'s next attempt (one job per attempt and time: the
    time in milliseconds, so an attempt moved earlier within the same second still gets a job)."""
    run_at = at or action.next_attempt_at
    enqueue(
        session,
        DELIVER_JOB,
        {"action_id": action.id},
        run_at=run_at,
        unique_key=f"{DELIVER_JOB}:{action.id}:{action.attempts}:{int(run_at.timestamp() * 1000)}",
    )


def create_action(
    session: Session,
    action_type: str,
    content_id: str | None,
    *,
    request_id: int | None,
    url: str | None = None,
    item_id: int | None = None,
) -> tuple[Action, bool]:
    """The outbox row for this action (created and scheduled if new); (action, created).

    `content_id` None: the content was never registered, the platform resolves `url`."""
    if content_id is None and not url:
        raise ValueError("an action names content or a URL")
    key = idempotency_key(action_type, content_id, request_id, url=url)
    existing = session.scalar(select(Action).where(Action.idempotency_key == key))
    if existing is not None:
        return existing, False
    now = utcnow()
    action = Action(
        type=action_type,
        content_id=content_id,
        url=url,
        request_id=request_id,
        item_id=item_id,
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


def deliver_waiting_now(session: Session) -> int:
    """Schedule every pending action waiting for a later attempt to go out now: called when an
    endpoint is added, so actions created while none was configured do not wait for their
    hourly recheck. Returns how many were rescheduled."""
    now = utcnow()
    waiting = session.scalars(
        select(Action).where(Action.status == PENDING, Action.next_attempt_at > now)
    )
    count = 0
    for action in waiting:
        action.next_attempt_at = now
        schedule_delivery(session, action)
        count += 1
    session.flush()
    return count


def get_action(session: Session, action_id: int) -> Action:
    """The action with `action_id`, or ActionNotFoundError."""
    action = session.get(Action, action_id)
    if action is None:
        raise ActionNotFoundError(f"no action {action_id}", field="id")
    return action


def mark_delivered(session: Session, action: Action) -> None:
    """Every endpoint acknowledged the webhook: delivered, not yet done."""
    if action.status == PENDING:
        action.status = DELIVERED
    action.delivered_at = action.delivered_at or utcnow()
    action.last_error = None
    session.flush()


def parse_outcome(value: object) -> ActionOutcome:
    """An outcome a platform sent, or InvalidSignalError naming the field."""
    try:
        return ActionOutcome(str(value))
    except ValueError:
        allowed = ", ".join(ActionOutcome)
        raise InvalidSignalError(f"outcome must be one of {allowed}", field="outcome") from None


def confirm(
    session: Session,
    action: Action,
    outcome: ActionOutcome,
    *,
    note: str | None = None,
    at: datetime | None = None,
) -> bool:
    """The platform said what it did. The first confirmation stands (a retried call changes
    nothing); returns whether this call confirmed it. The case follows."""
    if action.status == CONFIRMED:
        return False
    now = at or utcnow()
    action.status = CONFIRMED
    action.outcome = outcome
    action.outcome_note = (note or "").strip()[:MAX_NOTE] or None
    action.confirmed_at = now
    action.delivered_at = action.delivered_at or now
    action.last_error = None
    if action.type == REMOVE and outcome in GONE_OUTCOMES and action.content_id is not None:
        content = session.scalar(select(Content).where(Content.content_id == action.content_id))
        if content is not None:
            content.state = ContentState.REMOVED
    session.flush()
    if action.request_id is not None:
        refresh_case(session, action.request_id, now=now)
    return True


def mark_failed(session: Session, action: Action) -> None:
    """Delivery gave up: the case goes back to a reviewer."""
    action.status = FAILED
    session.flush()
    if action.request_id is not None:
        refresh_case(session, action.request_id)


def mark_done(
    session: Session,
    action_id: int,
    outcome: ActionOutcome = ActionOutcome.REMOVED,
    note: str | None = None,
) -> Action:
    """The platform confirms an action (`POST /v1/actions/{id}/done`); idempotent."""
    action = get_action(session, action_id)
    confirm(session, action, outcome, note=note)
    return action


def list_actions(
    session: Session, *, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Action]:
    """Actions in id order (a platform without webhooks polls `status=pending`)."""
    query = select(Action).where(Action.id > after_id).order_by(Action.id).limit(limit)
    if status:
        query = query.where(Action.status == status)
    return list(session.scalars(query))
