"""Rows holding every value of every constrained status, for the schema tests."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from itertools import cycle
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from rescind.store.columns import utcnow
from rescind.store.models import (
    Action,
    Appeal,
    Bank,
    BankEntry,
    Base,
    Content,
    Decision,
    Job,
    Lead,
    Request,
    RequestEvent,
    RequestItem,
    StopNCIIHash,
    TiplineReport,
    User,
)
from rescind.store.statuses import (
    ActionOutcome,
    ActionStatus,
    AppealKind,
    AppealStatus,
    BankEntryStatus,
    Channel,
    ChildSafetyFlag,
    ContentState,
    DecisionOutcome,
    ItemStatus,
    JobStatus,
    LeadStatus,
    MinorAnswer,
    RequestStatus,
    Role,
    StopNCIIHashStatus,
    TiplineState,
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
    (Action.outcome, ActionOutcome),
    (RequestItem.status, ItemStatus),
    (Lead.status, LeadStatus),
    (Job.status, JobStatus),
    (Request.minor_answer, MinorAnswer),
    (Request.child_safety, ChildSafetyFlag),
    (Appeal.kind, AppealKind),
    (Appeal.status, AppealStatus),
    (TiplineReport.state, TiplineState),
    (StopNCIIHash.status, StopNCIIHashStatus),
]


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


def add_every_status(session: Session) -> None:
    """One row per value of each status (the other statuses of the row cycling along)."""
    session.add_all(
        User(username=f"user-{role}", password_hash="x", role=role, active=True) for role in Role
    )
    width = max(len(RequestStatus), len(Channel), len(DecisionOutcome))
    statuses, channels, outcomes = cycle(RequestStatus), cycle(Channel), cycle(DecisionOutcome)
    item_statuses = cycle(ItemStatus)
    answers, flags = cycle(MinorAnswer), cycle(ChildSafetyFlag)
    requests = []
    for number in range(width):
        request = _request(number, next(statuses), next(channels))
        request.decisions = [Decision(outcome=next(outcomes), at=utcnow())]
        request.items[0].status = next(item_statuses)
        request.minor_answer, request.child_safety = next(answers), next(flags)
        session.add(request)
        requests.append(request)
    bank = Bank(name="ncii", kind="ncii", pdq_threshold=31, on_match="block", enabled=True)
    session.add(bank)
    session.flush()
    session.add_all(
        BankEntry(
            bank_id=bank.id, signal_type="md5", value=f"{i:032x}", source="reviewer", status=s
        )
        for i, s in enumerate(BankEntryStatus)
    )
    contents = [Content(content_id=f"content-{s}", state=s) for s in ContentState]
    session.add_all(contents)
    action_outcomes = cycle(ActionOutcome)
    session.add_all(
        Action(
            type="content.remove",
            content_id="c",
            idempotency_key=f"key-{s}",
            status=s,
            outcome=next(action_outcomes),
        )
        for s in ActionStatus
    )
    session.flush()
    entry = session.scalars(select(BankEntry)).first()
    assert entry is not None
    session.add_all(
        Lead(
            request_id=requests[i].id,
            item_id=requests[i].items[0].id,
            content_pk=contents[0].id,
            bank_entry_id=entry.id,
            distance=0,
            status=s,
        )
        for i, s in enumerate(LeadStatus)
    )
    session.add_all(Job(kind="test", payload={}, status=s) for s in JobStatus)
    kinds = cycle(AppealKind)
    session.add_all(
        Appeal(kind=next(kinds), status=s, filed_by="requester", statement="x")
        for s in AppealStatus
    )
    session.add_all(
        TiplineReport(request_id=requests[i].id, state=s, report_xml="<report/>", attempts=0)
        for i, s in enumerate(TiplineState)
    )
    session.add_all(
        StopNCIIHash(
            digest=f"{i:064x}", signal_type="VideoTMK", value="v", supported=False, status=s,
            cases={}, last_modified=0,
        )
        for i, s in enumerate(StopNCIIHashStatus)
    )  # fmt: skip
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


def _filler(column: Any) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, DateTime):
        return utcnow()
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, JSON):
        return {}
    return "x"


def insert_raw(conn: Connection, table: str, **values: Any) -> int:
    """Insert a row into `table` as the schema stands now (any revision): the columns not given
    and required get a neutral value. Returns the new id."""
    reflected = Table(table, MetaData(), autoload_with=conn)
    row = {
        c.name: _filler(c)
        for c in reflected.columns
        if not c.nullable and c.server_default is None and c.name != "id"
    }
    row.update(values)
    return int(conn.execute(insert(reflected).values(**row)).inserted_primary_key[0])
