"""The removal clock: deadlines per channel, and the escalation of cases running out of time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases import notify
from rescind.config import Settings
from rescind.security import audit
from rescind.store.models import Request
from rescind.store.statuses import (
    CLOCK_RUNNING_STATUSES,
    CLOSED_REQUEST_STATUSES,
    OPEN_REQUEST_STATUSES,
    Channel,
    ChildSafetyFlag,
)

OPEN_STATUSES = OPEN_REQUEST_STATUSES
CLOSED_STATUSES = CLOSED_REQUEST_STATUSES
# Escalation points as fractions of the window: 24h and 40h of the Act's 48 hours.
RISK_POINTS = ((1, 24 / 48), (2, 40 / 48))


def deadline_for(
    settings: Settings,
    channel: str,
    received_at: datetime,
    *,
    child_safety: ChildSafetyFlag = ChildSafetyFlag.NONE,
) -> datetime:
    """When the depiction must be down: 48 hours (24 for a regulator notice) after receipt;
    a case flagged as possible child sexual abuse material runs on its own shorter clock
    (`minor_deadline_hours`, never longer than its channel's)."""
    hours = (
        settings.regulator_deadline_hours
        if channel == Channel.REGULATOR
        else settings.request_deadline_hours
    )
    if child_safety == ChildSafetyFlag.POSSIBLE:
        hours = min(hours, settings.minor_deadline_hours)
    return received_at + timedelta(hours=hours)


def risk_level_at(request: Request, now: datetime) -> int:
    """0 on track, 1 past half the window (24h of 48), 2 past 40h of 48."""
    window = (request.deadline_at - request.received_at).total_seconds()
    elapsed = (now - request.received_at).total_seconds()
    level = 0
    for value, fraction in RISK_POINTS:
        if window > 0 and elapsed >= window * fraction:
            level = value
    return level


@dataclass(frozen=True)
class Clock:
    """How a case stands against its deadline, for display."""

    seconds_left: int
    overdue: bool
    risk_level: int


def clock(request: Request, now: datetime) -> Clock:
    """The case's clock at `now`: it runs until the platform confirmed the removal (a case
    decided "remove" whose removal is still pending can be overdue)."""
    left = int((request.deadline_at - now).total_seconds())
    is_open = request.status in CLOCK_RUNNING_STATUSES
    return Clock(left, is_open and left < 0, risk_level_at(request, now) if is_open else 0)


def escalate(session: Session, settings: Settings, now: datetime) -> int:
    """Raise `risk_level` of open cases that crossed 24h / 40h and notify reviewers once per level.

    Runs as a periodic job; idempotent (a level is only ever raised, and each raise notifies once).
    Returns how many cases were escalated.
    """
    rows = session.scalars(
        select(Request)
        .where(Request.status.in_(CLOCK_RUNNING_STATUSES), Request.risk_level < 2)
        .order_by(Request.deadline_at)
        .with_for_update(skip_locked=True)
    )
    raised = 0
    for request in rows:
        level = risk_level_at(request, now)
        if level <= request.risk_level:
            continue
        request.risk_level = level
        raised += 1
        audit.record(
            session,
            "system",
            "request.escalate",
            subject_type="request",
            subject_id=request.case_number,
            detail={"risk_level": level},
        )
        notify.notify_reviewers(session, request, level)
    return raised
