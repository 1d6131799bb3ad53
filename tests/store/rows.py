"""Rows holding every value of every constrained status, for the schema tests."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from itertools import cycle

from sqlalchemy import column, func, insert, inspect, select, table
from sqlalchemy.orm import InstrumentedAttribute, Session

from rescind.store.columns import utcnow
from rescind.store.models import (
    Action,
    Bank,
    BankEntry,
    Base,
    Content,
    Decision,
    Job,
    Request,
    RequestEvent,
    RequestItem,
    User,
)
from rescind.store.statuses import (
    ActionStatus,
    BankEntryStatus,
    Channel,
    ChildSafetyFlag,
    ContentState,
    DecisionOutcome,
    JobStatus,
    MinorAnswer,
    RequestStatus,
    Role,
)

# Every status-like column and its enum; test_statuses checks no typed column is missing here.
STATUS_COLUMNS: list[tuple[InstrumentedAttribute[str], type[StrEnum]]] = [
    (User.role, Role),
    (Request.status, RequestStatus),
    (Request.channel, Channel),
    (Decision.outcome, DecisionOutcome),
    (BankEntry.status, BankEntryStatus),
    (Content.state, ContentState),
    (Action.status, ActionStatus),
    (Job.status, JobStatus),
    (Request.minor_answer, MinorAnswer),
    (Request.child_safety, ChildSafetyFlag),
]
# Added by migration 0007: a database at an older revision has no such columns.
LATER_STATUS_COLUMNS = {"requests.minor_answer", "requests.child_safety"}
# The columns `requests` had from 0001 to 0004, for rows written into an older schema.
_LEGACY_REQUEST_COLUMNS = (
    "case_number",
    "status",
    "channel",
    "received_at",
    "deadline_at",
    "language",
    "signature",
    "good_faith_statement",
    "requester_name_enc",
    "requester_email_enc",
    "representative",
    "secret_hash",
    "risk_level",
    "updated_at",
)


def _request(number: int, status: RequestStatus, channel: Channel) -> Request:
    now = utcnow()
    return Request(
        case_number=f"RSC-TEST-{number:04d}",
        status=status,
        channel=channel,
        received_at=now,
        deadline_at=now + timedelta(hours=48),
        language="en",
        signature="Test Person",
        good_faith_statement="statement",
        requester_name_enc=b"n",
        requester_email_enc=b"e",
        secret_hash="x",
        items=[RequestItem(url=f"https://example.test/{number}")],
        events=[RequestEvent(kind="received", public=True, at=now)],
    )


def _add_legacy_request(session: Session, request: Request, outcome: DecisionOutcome) -> None:
    # Core insert of the old columns only: the ORM would write columns the schema lacks yet.
    values = {name: getattr(request, name) for name in _LEGACY_REQUEST_COLUMNS}
    values.update(representative=False, risk_level=0, updated_at=request.received_at)
    legacy = table("requests", *(column(name) for name in values), column("id"))
    values["status"], values["channel"] = str(values["status"]), str(values["channel"])
    request_id = session.execute(insert(legacy).values(values).returning(legacy.c.id)).scalar_one()
    session.add(Decision(request_id=request_id, outcome=outcome, at=utcnow()))
    session.add(RequestItem(request_id=request_id, url=request.items[0].url))
    session.add(RequestEvent(request_id=request_id, kind="received", public=True, at=utcnow()))


def add_every_status(session: Session, *, legacy: bool = False) -> None:
    """One row per value of each status (the other statuses of the row cycling along).

    `legacy`: the database is at a revision before 0007 (no under-18 columns)."""
    session.add_all(
        User(username=f"user-{role}", password_hash="x", role=role, active=True) for role in Role
    )
    width = max(len(RequestStatus), len(Channel), len(DecisionOutcome))
    statuses, channels, outcomes = cycle(RequestStatus), cycle(Channel), cycle(DecisionOutcome)
    answers, flags = cycle(MinorAnswer), cycle(ChildSafetyFlag)
    for number in range(width):
        request = _request(number, next(statuses), next(channels))
        if legacy:
            _add_legacy_request(session, request, next(outcomes))
            continue
        request.minor_answer, request.child_safety = next(answers), next(flags)
        request.decisions = [Decision(outcome=next(outcomes), at=utcnow())]
        session.add(request)
    bank = Bank(name="ncii", kind="ncii", pdq_threshold=31, on_match="block", enabled=True)
    session.add(bank)
    session.flush()
    session.add_all(
        BankEntry(
            bank_id=bank.id, signal_type="md5", value=f"{i:032x}", source="reviewer", status=s
        )
        for i, s in enumerate(BankEntryStatus)
    )
    session.add_all(Content(content_id=f"content-{s}", state=s) for s in ContentState)
    session.add_all(
        Action(type="content.remove", content_id="c", idempotency_key=f"key-{s}", status=s)
        for s in ActionStatus
    )
    session.add_all(Job(kind="test", payload={}, status=s) for s in JobStatus)
    session.flush()


def row_counts(session: Session) -> dict[str, int]:
    """How many rows each non-empty table holds (tables a later migration adds may not be
    there yet, and are empty after it)."""
    present = set(inspect(session.connection()).get_table_names())
    counts = {
        name: session.scalar(select(func.count()).select_from(table)) or 0
        for name, table in Base.metadata.tables.items()
        if name in present
    }
    return {name: n for name, n in counts.items() if n}
