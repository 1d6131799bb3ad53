"""The truth of a decided case: `removed` only once the platform confirmed every removal.

A case decided "remove" is `removal_pending` while any action waits for the platform's
confirmation, any lead waits for a reviewer, or any item waits for a decision. It becomes
`removed` when every action of its actioned items was confirmed `removed` or `not_found`; the
last confirmation is `removed_at`, the time the Act's deadline is judged against. An action
refused, not the platform's, or undeliverable, or an item whose leads were all dismissed (it
removed nothing), flags the case (`needs_review`) for a reviewer, who records how the item was
handled (`rescind.cases.review.resolve_item`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.jobs import enqueue
from rescind.store.columns import utcnow
from rescind.store.models import Action, Lead, Request, RequestEvent
from rescind.store.statuses import (
    GONE_OUTCOMES,
    ActionStatus,
    ItemStatus,
    LeadStatus,
    RequestStatus,
)

REQUESTER_EMAIL_JOB = "email.requester"
# The action types (`rescind.platform.actions`): only removals hold a case open or settle it.
REMOVE = "content.remove"
RESTORE = "content.restore"


def action_settled(action: Action) -> bool:
    """The platform confirmed the content is gone."""
    return action.status == ActionStatus.CONFIRMED and action.outcome in GONE_OUTCOMES


def action_came_back(action: Action) -> bool:
    """A reviewer must look again: refused, not the platform's, or never delivered."""
    return action.status == ActionStatus.FAILED or (
        action.status == ActionStatus.CONFIRMED and action.outcome not in GONE_OUTCOMES
    )


def refresh_case(session: Session, request_id: int, *, now: datetime | None = None) -> None:
    """Bring a `removal_pending` case to `removed` when nothing is left pending, and flag it
    for review when an action came back. Idempotent; other statuses are left alone."""
    request = session.get(Request, request_id)
    if request is None or request.status != RequestStatus.REMOVAL_PENDING:
        return
    # A confirmation or a lead decided is news for `GET /v1/requests?updated_since=` pollers.
    request.updated_at = now or utcnow()
    items = {i.id: i for i in request.items}
    # Items handled outside Rescind or rejected after the decision: their actions no longer
    # hold the case open.
    settled_by_reviewer = (ItemStatus.HANDLED_OUTSIDE, ItemStatus.REJECTED)
    outside = {i.id for i in items.values() if i.status in settled_by_reviewer}
    actions = [
        a
        for a in session.scalars(select(Action).where(Action.request_id == request.id))
        if a.type == REMOVE and a.item_id not in outside
    ]
    waiting_leads = set(
        session.scalars(
            select(Lead.item_id).where(
                Lead.request_id == request.id, Lead.status == LeadStatus.UNCONFIRMED
            )
        )
    )
    pending_items = any(i.status == ItemStatus.PENDING for i in items.values())
    # An item to remove whose leads were all dismissed removed nothing: it is not "removed".
    actioned = {a.item_id for a in actions}
    led_nowhere = [
        i
        for i in items.values()
        if i.status == ItemStatus.REMOVE and i.id not in actioned and i.id not in waiting_leads
    ]
    if None in actioned:
        led_nowhere = []  # actions from before 0006 name no item: they speak for every item
    if any(action_came_back(a) for a in actions) or led_nowhere:
        request.needs_review = True
    settled = all(action_settled(a) for a in actions)
    if settled and not waiting_leads and not pending_items and not led_nowhere:
        times = [a.confirmed_at for a in actions if a.confirmed_at is not None]
        at = max(times) if times else (now or utcnow())
        request.status = RequestStatus.REMOVED
        request.removed_at = at
        request.closed_at = at
        request.needs_review = False
        if times:
            # Only a platform's confirmation is told as a removal (not items handled outside).
            request.events.append(RequestEvent(kind="removed", detail=None, public=True, at=at))
            # The requester's email job (`rescind.cases.notify`, a layer above: named only).
            enqueue(
                session,
                REQUESTER_EMAIL_JOB,
                {"request_id": request.id, "kind": "removed"},
                unique_key=f"{REQUESTER_EMAIL_JOB}:{request.id}:removed:0",
            )
    session.flush()
