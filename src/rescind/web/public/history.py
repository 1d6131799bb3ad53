"""A case's history for its requester, in plain words in their language."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime

from rescind.cases.progress import ItemProgress, ItemState
from rescind.cases.reasons import reason_text
from rescind.locale import N_
from rescind.store.models import Request
from rescind.store.statuses import RequestStatus

STATUS_TEXT: dict[str, str] = {
    RequestStatus.RECEIVED: N_("Received: waiting for a reviewer"),
    RequestStatus.IN_REVIEW: N_("In review"),
    RequestStatus.NEED_INFO: N_("We need more information from you"),
    RequestStatus.REMOVAL_PENDING: N_("Removal pending: waiting for the platform to confirm"),
    RequestStatus.REMOVED: N_("Removed: the platform confirmed it"),
    RequestStatus.REJECTED: N_("Not removed"),
    RequestStatus.WITHDRAWN: N_("Withdrawn"),
}
EVENT_TEXT = {
    "received": N_("We received your request."),
    "in_review": N_("A reviewer started working on your request."),
    "info_added": N_("You added information."),
    "decision_need_info": N_("We asked you for more information. The deadline does not change."),
    "decision_remove": N_(
        "We decided to remove the content you reported and look for identical copies. "
        "The removal is under way."
    ),
    "removed": N_("The platform confirmed the removal."),
    "decision_reject": N_("We could not act on your request."),
    "withdrawn": N_("You withdrew your request."),
    "appeal_filed": N_("You asked for another review of our decision."),
    "appeal_upheld": N_(
        "Another reviewer agreed to look at your request again. The review starts again."
    ),
    "appeal_dismissed": N_("Another reviewer looked at your request again: the decision stands."),
    "item_appeal_filed": N_("You asked for another review of our decision on one item."),
    "item_appeal_upheld": N_(
        "Another reviewer agreed with you about one item: the platform is asked to remove it."
    ),
    "item_appeal_dismissed": N_(
        "Another reviewer looked at one item again: the decision not to remove it stands."
    ),
    "restored_on_appeal": N_(
        "The person who posted the content appealed, and another reviewer decided it should "
        "not have been removed: the platform is asked to put it back."
    ),
}


# An appeal's decision is told with the reviewer's reason (DSA Art. 20: a reasoned decision).
APPEAL_DECIDED = (
    "appeal_upheld",
    "appeal_dismissed",
    "item_appeal_upheld",
    "item_appeal_dismissed",
)
ITEM_EVENTS = ("item_appeal_filed", "item_appeal_upheld", "item_appeal_dismissed")

ITEM_TEXT: dict[str, str] = {
    ItemState.AWAITING_REVIEW: N_("Waiting for a reviewer"),
    ItemState.REMOVAL_PENDING: N_("Removal pending: waiting for the platform to confirm"),
    ItemState.SEARCHING: N_("Possible copies found: a reviewer is checking them"),
    ItemState.REMOVED: N_("Removed: the platform confirmed it"),
    ItemState.NOT_FOUND: N_("No copy found on the platform"),
    ItemState.CAME_BACK: N_("The removal did not go through: a reviewer is looking at it again"),
    ItemState.HANDLED_OUTSIDE: N_("Handled by our team by other means"),
    ItemState.NOT_REMOVED: N_("Not removed"),
    ItemState.WITHDRAWN: N_("Withdrawn"),
    ItemState.RESTORED: N_("Put back: a reviewer decided it should not have been removed"),
}


@dataclass(frozen=True)
class ItemLine:
    """One reported item on the status page: what the person gave, and its state in words."""

    number: int
    url: str | None
    state: str
    text: str


def item_lines(t: gettext.NullTranslations, progress: list[ItemProgress]) -> list[ItemLine]:
    """The case's items with their state in plain words (never "removed" while pending)."""
    return [
        ItemLine(p.number, p.item.url, p.state, t.gettext(ITEM_TEXT[p.state])) for p in progress
    ]


@dataclass(frozen=True)
class HistoryLine:
    """One line of the public history."""

    at: datetime
    text: str
    detail: str | None


def status_text(t: gettext.NullTranslations, status: str) -> str:
    """The plain-words status."""
    return t.gettext(STATUS_TEXT.get(status, status))


def public_history(t: gettext.NullTranslations, case: Request) -> list[HistoryLine]:
    """The public events of `case`, oldest first."""
    lines = []
    for event in case.events:
        if not event.public or event.kind not in EVENT_TEXT:
            continue
        detail = None
        if event.kind == "decision_reject" and event.detail:
            detail = reason_text(t, event.detail.get("reason_code")) or None
        if event.kind in APPEAL_DECIDED and event.detail:
            detail = event.detail.get("reason") or None  # the reviewer's own words
        if event.kind in ITEM_EVENTS and event.detail and event.detail.get("item"):
            which = t.gettext("Item %(number)s") % {"number": event.detail["item"]}
            detail = f"{which}. {detail}" if detail else which
        lines.append(HistoryLine(event.at, t.gettext(EVENT_TEXT[event.kind]), detail))
    return lines
