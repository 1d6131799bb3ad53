"""Where each reported item of a case stands, from its decision, its actions and its leads:
what the status page, the console and the API say per item. "Removed" only when the platform
confirmed every action of the item."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.platform.lifecycle import RESTORE, action_came_back, action_settled
from rescind.store.models import Action, Content, Lead, Request, RequestItem
from rescind.store.statuses import ItemStatus, LeadStatus, RequestStatus


class ItemState(StrEnum):
    """An item's progress in plain terms (what a requester is told)."""

    AWAITING_REVIEW = "awaiting_review"
    REMOVAL_PENDING = "removal_pending"  # decided; the platform has not confirmed yet
    SEARCHING = "searching"  # only matches of the person's hashes, a reviewer checks them
    REMOVED = "removed"  # every action confirmed removed / not found
    NOT_FOUND = "not_found"  # hashes only, no match confirmed on the platform
    CAME_BACK = "came_back"  # refused, not the platform's, or undeliverable: reviewed again
    HANDLED_OUTSIDE = "handled_outside"
    NOT_REMOVED = "not_removed"
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"  # a reviewer restored it (an upheld appeal, or removed in error)


@dataclass(frozen=True)
class LeadView:
    """A lead with the registered content it names."""

    id: int
    item_id: int
    content_id: str
    url: str | None
    status: LeadStatus
    distance: int


@dataclass
class ItemProgress:
    """One item with its actions, leads and state."""

    number: int
    item: RequestItem
    state: ItemState
    actions: list[Action] = field(default_factory=list)
    leads: list[LeadView] = field(default_factory=list)


def case_leads(session: Session, request: Request) -> list[LeadView]:
    """Every lead of the case, oldest first."""
    rows = session.execute(
        select(Lead, Content.content_id, Content.url)
        .join(Content, Content.id == Lead.content_pk)
        .where(Lead.request_id == request.id)
        .order_by(Lead.id)
    ).all()
    return [
        LeadView(lead.id, lead.item_id, cid, url, lead.status, lead.distance)
        for lead, cid, url in rows
    ]


def _state(
    request: Request, item: RequestItem, actions: list[Action], leads: list[LeadView]
) -> ItemState:
    if request.status == RequestStatus.WITHDRAWN:
        return ItemState.WITHDRAWN
    restored = {(a.content_id, a.url) for a in actions if a.type == RESTORE}
    if restored:
        # Put back only in part (an appeal of one copy): the removals standing tell the state.
        actions = [
            a for a in actions if a.type != RESTORE and (a.content_id, a.url) not in restored
        ]
        if not actions:
            return ItemState.RESTORED
    if item.status == ItemStatus.PENDING:
        return ItemState.AWAITING_REVIEW
    if item.status == ItemStatus.REJECTED:
        return ItemState.NOT_REMOVED
    if item.status == ItemStatus.HANDLED_OUTSIDE:
        return ItemState.HANDLED_OUTSIDE
    if any(action_came_back(a) for a in actions):
        return ItemState.CAME_BACK
    if any(not action_settled(a) for a in actions):
        return ItemState.REMOVAL_PENDING
    if any(lead.status == LeadStatus.UNCONFIRMED for lead in leads):
        return ItemState.SEARCHING
    return ItemState.REMOVED if actions else ItemState.NOT_FOUND


def item_progress(session: Session, request: Request) -> list[ItemProgress]:
    """Each item of the case with its state, actions and leads."""
    actions: dict[int | None, list[Action]] = defaultdict(list)
    for action in session.scalars(
        select(Action).where(Action.request_id == request.id).order_by(Action.id)
    ):
        actions[action.item_id].append(action)
    leads: dict[int, list[LeadView]] = defaultdict(list)
    for lead in case_leads(session, request):
        leads[lead.item_id].append(lead)
    return [
        ItemProgress(
            number,
            item,
            _state(request, item, actions[item.id], leads[item.id]),
            actions[item.id],
            leads[item.id],
        )
        for number, item in enumerate(request.items, start=1)
    ]
