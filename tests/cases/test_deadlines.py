"""The removal clock, each boundary pinned: escalation at exactly 24 h and 40 h of the 48 h
window, the regulator's 24 h window, cases whose clock stopped (closed, or removed) never
escalated nor shown overdue, and a decided removal the platform has not confirmed yet still on the
clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from rescind.cases import deadlines
from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import AuditEvent, Job, Request
from rescind.store.statuses import (
    CLOCK_RUNNING_STATUSES,
    OPEN_REQUEST_STATUSES,
    Channel,
    ChildSafetyFlag,
    RequestStatus,
)
from tests.cases.support import valid_input

# The clock stops at a confirmed removal, a rejection or a withdrawal; `removal_pending` (the
# reviewer decided, the platform has not confirmed) is still on it.
CLOCK_STOPPED = tuple(s for s in RequestStatus if s not in CLOCK_RUNNING_STATUSES)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
H = timedelta(hours=1)


def _case(
    hours: int = 48, status: RequestStatus = RequestStatus.RECEIVED, risk_level: int = 0
) -> Request:
    return Request(received_at=T0, deadline_at=T0 + hours * H, status=status, risk_level=risk_level)


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [
        (timedelta(0), 0),
        (24 * H - TICK, 0),
        (24 * H, 1),
        (40 * H - TICK, 1),
        (40 * H, 2),
        (48 * H, 2),
        (100 * H, 2),
    ],
)
def test_risk_levels_start_exactly_at_24_and_40_hours(elapsed: timedelta, level: int) -> None:
    assert deadlines.risk_level_at(_case(), T0 + elapsed) == level


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [(12 * H - TICK, 0), (12 * H, 1), (20 * H - TICK, 1), (20 * H, 2)],
)
def test_a_24_hour_window_escalates_at_the_same_fractions(elapsed: timedelta, level: int) -> None:
    assert deadlines.risk_level_at(_case(hours=24), T0 + elapsed) == level


def test_an_empty_window_has_no_risk_level() -> None:
    assert deadlines.risk_level_at(_case(hours=0), T0 + 100 * H) == 0


def test_deadlines_per_channel() -> None:
    settings = Settings(environment="test")
    assert deadlines.deadline_for(settings, Channel.REGULATOR, T0) == T0 + 24 * H
    for channel in Channel:
        if channel != Channel.REGULATOR:
            assert deadlines.deadline_for(settings, channel, T0) == T0 + 48 * H
    custom = settings.model_copy(
        update={"request_deadline_hours": 36, "regulator_deadline_hours": 12}
    )
    assert deadlines.deadline_for(custom, Channel.API, T0) == T0 + 36 * H
    assert deadlines.deadline_for(custom, Channel.REGULATOR, T0) == T0 + 12 * H


def test_an_open_case_is_overdue_only_after_its_deadline() -> None:
    for status in OPEN_REQUEST_STATUSES:
        at_deadline = deadlines.clock(_case(status=status), T0 + 48 * H)
        assert at_deadline == deadlines.Clock(0, False, 2)
        late = deadlines.clock(_case(status=status), T0 + 48 * H + timedelta(seconds=1))
        assert late == deadlines.Clock(-1, True, 2)
        assert deadlines.clock(_case(status=status), T0 + 24 * H) == deadlines.Clock(
            24 * 3600, False, 1
        )


@pytest.mark.parametrize("status", CLOCK_STOPPED)
def test_a_closed_case_is_never_overdue_nor_at_risk(status: RequestStatus) -> None:
    state = deadlines.clock(_case(status=status, risk_level=2), T0 + 100 * H)
    assert state == deadlines.Clock(-52 * 3600, False, 0)


def _submitted(settings: Settings, database: Database, status: RequestStatus) -> datetime:
    with database.session() as session:
        request = submit_request(session, settings, valid_input()).request
        request.status = status
        return request.received_at


def _escalations(database: Database) -> tuple[int, int, list[int]]:
    with database.session() as session:
        events = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "request.escalate")
        )
        jobs = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "email.reviewers")
        )
        levels = list(session.scalars(select(Request.risk_level).order_by(Request.id)))
        return int(events or 0), int(jobs or 0), levels


def test_escalation_happens_at_exactly_24_and_40_hours(
    settings: Settings, database: Database
) -> None:
    received = _submitted(settings, database, RequestStatus.RECEIVED)
    steps = [(24 * H - TICK, 0, 0), (24 * H, 1, 1), (40 * H - TICK, 0, 1), (40 * H, 1, 2)]
    for elapsed, raised, level in steps:
        with database.session() as session:
            assert deadlines.escalate(session, settings, received + elapsed) == raised
        assert _escalations(database)[2] == [level]
    with database.session() as session:
        assert deadlines.escalate(session, settings, received + 47 * H) == 0
    assert _escalations(database) == (2, 2, [2])


def test_a_late_worker_escalates_straight_to_the_level_reached(
    settings: Settings, database: Database
) -> None:
    received = _submitted(settings, database, RequestStatus.IN_REVIEW)
    with database.session() as session:
        assert deadlines.escalate(session, settings, received + 45 * H) == 1
    assert _escalations(database) == (1, 1, [2])


@pytest.mark.parametrize("status", CLOCK_STOPPED)
def test_closed_cases_are_never_escalated(
    settings: Settings, database: Database, status: RequestStatus
) -> None:
    received = _submitted(settings, database, status)
    with database.session() as session:
        assert deadlines.escalate(session, settings, received + 45 * H) == 0
    assert _escalations(database) == (0, 0, [0])
    # Reopened (need_info answered): the clock runs for it again.
    with database.session() as session:
        session.execute(update(Request).values(status=RequestStatus.NEED_INFO))
        assert deadlines.escalate(session, settings, received + 45 * H) == 1


def test_a_removal_not_yet_confirmed_stays_on_the_clock(
    settings: Settings, database: Database
) -> None:
    assert RequestStatus.REMOVAL_PENDING not in CLOCK_STOPPED
    received = _submitted(settings, database, RequestStatus.REMOVAL_PENDING)
    with database.session() as session:
        assert deadlines.escalate(session, settings, received + 45 * H) == 1
    state = deadlines.clock(_case(status=RequestStatus.REMOVAL_PENDING), T0 + 49 * H)
    assert state.overdue


def test_any_positive_window_however_short_escalates() -> None:
    short = Request(received_at=T0, deadline_at=T0 + timedelta(seconds=1))
    assert deadlines.risk_level_at(short, T0 + timedelta(seconds=1)) == 2


@pytest.mark.parametrize(
    ("channel", "flag", "hours"),
    [
        (Channel.PUBLIC_FORM, ChildSafetyFlag.NONE, 48),
        (Channel.PUBLIC_FORM, ChildSafetyFlag.POSSIBLE, 24),
        (Channel.REGULATOR, ChildSafetyFlag.NONE, 24),
        (Channel.REGULATOR, ChildSafetyFlag.POSSIBLE, 24),
    ],
)
def test_a_possible_minor_runs_on_the_shorter_clock_never_a_longer_one(
    channel: Channel, flag: ChildSafetyFlag, hours: int
) -> None:
    settings = Settings(minor_deadline_hours=24)
    assert deadlines.deadline_for(settings, channel, T0, child_safety=flag) == T0 + hours * H
    slow = Settings(minor_deadline_hours=36)  # a minor's clock never runs past the channel's
    assert (
        deadlines.deadline_for(slow, Channel.REGULATOR, T0, child_safety=ChildSafetyFlag.POSSIBLE)
        == T0 + 24 * H
    )


def test_every_case_due_is_escalated_each_audited_by_case_number(
    settings: Settings, database: Database
) -> None:
    # The case with the earliest deadline is not due: the ones after it are still examined.
    late = _submitted(settings, database, RequestStatus.RECEIVED)
    with database.session() as session:
        first = session.scalars(select(Request).order_by(Request.id)).first()
        assert first is not None
        # A regulator notice received later: earlier deadline, but not at 24h of its 24 yet.
        first.received_at, first.deadline_at = late + 20 * H, late + 44 * H
    for _ in range(2):
        _submitted(settings, database, RequestStatus.IN_REVIEW)
    with database.session() as session:
        assert deadlines.escalate(session, settings, late + 30 * H) == 2
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "request.escalate"))
        )
        numbers = list(session.scalars(select(Request.case_number).order_by(Request.id)))
    assert sorted(e.subject_id or "" for e in events) == sorted(numbers[1:])
    assert {(e.actor, e.subject_type) for e in events} == {("system", "request")}
    assert [e.detail for e in events] == [{"risk_level": 1}] * 2
