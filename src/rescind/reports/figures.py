"""The compliance figures of a period, counted in SQL.

The period [start, end) selects cases by when they were received (a cohort); each figure
says where those cases stand now. Time to removal runs from receipt (when the Act's clock
starts) to the platform's confirmation (`Action.confirmed_at`), never to the decision:
- per item: until the platform confirmed the removal of everything the item named;
- per copy: until it confirmed the removal of each copy found (a sweep or a confirmed lead).
Each is split by the clock the case ran on (`CLOCKS`): 48 h, 24 h for a regulator's notice,
and the shorter clock of a case flagged as possible child sexual abuse material.

Each large table is read once, into a narrow temporary table (the period's cases, their
decisions, their removal actions), and the figures are counted from those; the durations
behind the percentiles (nearest rank) are sorted with numpy, and the cases that missed their
deadline are listed one by one. The report names the head of the audit chain when it was
computed, so it can be checked against the log later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from rescind.config import Settings
from rescind.locale import N_
from rescind.reports.sqltime import epoch, utc_day
from rescind.store.columns import utcnow
from rescind.store.models import (
    Action,
    Appeal,
    AuditEvent,
    Content,
    Decision,
    Lead,
    Match,
    Request,
    RequestItem,
)
from rescind.store.statuses import (
    CLOCK_RUNNING_STATUSES,
    GONE_OUTCOMES,
    ActionOutcome,
    ActionStatus,
    AppealKind,
    AppealStatus,
    Channel,
    ChildSafetyFlag,
    DecisionOutcome,
    LeadStatus,
    RequestStatus,
)

REMOVE = "content.remove"  # rescind.platform.lifecycle.REMOVE (a layer below: same value)
RESTORE = "content.restore"  # rescind.platform.lifecycle.RESTORE
# Appeals by who complained about what: an item's rejection is a `rejection` appeal naming it.
APPEAL_ITEM_REJECTION = "item_rejection"
APPEAL_KINDS: tuple[str, ...] = (AppealKind.REMOVAL, AppealKind.REJECTION, APPEAL_ITEM_REJECTION)
APPEAL_STATUSES: tuple[str, ...] = tuple(AppealStatus)
STANDARD, REGULATOR, MINOR = "standard", "regulator", "minor"
CLOCKS = (STANDARD, REGULATOR, MINOR)
CLOCK_NAMES = {
    STANDARD: N_("48-hour clock"),
    REGULATOR: N_("Regulator's notice"),
    MINOR: N_("Possibly under 18"),
}
# Nearest-rank percentiles, in hundredths (integers: no rounding at the rank boundary).
PERCENTILES = (("median", 50), ("p90", 90), ("p99", 99))
# Time-to-removal histogram buckets, upper bounds in hours (the last is open).
BUCKETS_H = (6, 12, 24, 36, 48, 72)
COPY_BUCKETS = ((0, 0), (1, 1), (2, 5), (6, 20), (21, None))

# Why a case missed its deadline.
MISSED_REASONS = {
    "awaiting_review": N_("not decided yet: waiting for a reviewer"),
    "need_info": N_("waiting for information from the requester"),
    "decided_late": N_("decided after the deadline"),
    "came_back": N_("a removal came back (refused, not the platform's, or undeliverable)"),
    "awaiting_platform": N_("the platform has not confirmed the removal yet"),
    "confirmed_late": N_("decided in time, but the platform confirmed the removal late"),
}


@dataclass(frozen=True)
class Distribution:
    """Durations in seconds: count, nearest-rank percentiles, maximum, histogram."""

    count: int
    median: float | None
    p90: float | None
    p99: float | None
    max: float | None
    buckets: tuple[int, ...]  # one count per BUCKETS_H bound, then the open bucket

    @staticmethod
    def empty() -> Distribution:
        return Distribution(0, None, None, None, None, (0,) * (len(BUCKETS_H) + 1))


@dataclass(frozen=True)
class ClockFigures:
    """One clock's cases and time-to-removal distributions."""

    clock: str
    hours: int
    cases: int
    valid: int
    met: int  # removed, confirmed by the deadline
    missed: int
    items: Distribution
    copies: Distribution


class MissedCase(NamedTuple):
    """A case that missed its deadline, and why. (A named tuple: made for every missed case
    of a report, several times cheaper than a frozen dataclass.)"""

    case_number: str
    clock: str
    status: str
    received_at: datetime
    deadline_at: datetime
    removed_at: datetime | None
    decided_at: datetime | None
    reason: str


@dataclass
class Report:
    """Everything a compliance report shows, for cases received in [start, end)."""

    start: datetime
    end: datetime
    computed_at: datetime
    chain_head_id: int | None
    chain_head_hash: str | None
    received: int = 0
    valid: int = 0
    decided: int = 0
    removed: int = 0
    rejected: int = 0
    withdrawn: int = 0
    open: int = 0
    removal_pending: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    decisions_automated: int = 0
    decisions_human: int = 0
    leads_confirmed: int = 0
    leads_dismissed: int = 0
    leads_unconfirmed: int = 0
    copies_total: int = 0
    copies_max: int = 0
    copies_by_bucket: dict[str, int] = field(default_factory=dict)
    clocks: list[ClockFigures] = field(default_factory=list)
    missed: list[MissedCase] = field(default_factory=list)
    per_day: list[tuple[str, int, int]] = field(default_factory=list)  # day, received, removed
    # Appeals (DSA Art. 20) of the period's cases, by status and by kind, and the content put
    # back (`content.restore` actions: an upheld removal appeal, or a reviewer's restore).
    appeals_by_status: dict[str, int] = field(default_factory=dict)
    appeals_by_kind: dict[str, int] = field(default_factory=dict)
    restores: int = 0
    restores_confirmed: int = 0

    @property
    def appeals(self) -> int:
        return sum(self.appeals_by_status.values())

    @property
    def missed_by_reason(self) -> dict[str, int]:
        """How many cases missed their deadline, by reason (in MISSED_REASONS order)."""
        counts = {key: 0 for key in MISSED_REASONS}
        for m in self.missed:
            counts[m.reason] += 1
        return {key: n for key, n in counts.items() if n}

    @property
    def copies_per_valid_request(self) -> float | None:
        return self.copies_total / self.valid if self.valid else None


def clock_of(request: Any) -> ColumnElement[str]:
    """The clock a case runs on, as a SQL expression over `requests` (or an alias)."""
    # Inline constants, not bound parameters: PostgreSQL matches a GROUP BY expression to the
    # selected one textually, and two sets of parameters would differ.
    return case(
        (request.child_safety == _const(ChildSafetyFlag.POSSIBLE), _const(MINOR)),
        (request.channel == _const(Channel.REGULATOR), _const(REGULATOR)),
        else_=_const(STANDARD),
    )


def _const(value: str | int) -> ColumnElement[Any]:
    """A constant written into the SQL (only ever our own enum values and small integers)."""
    return literal_column(repr(value) if isinstance(value, int) else f"'{value}'")


def clock_hours(settings: Settings, clock: str) -> int:
    """The configured length of a clock (a minor's is never longer than its channel's)."""
    if clock == REGULATOR:
        return settings.regulator_deadline_hours
    if clock == MINOR:
        return min(settings.minor_deadline_hours, settings.request_deadline_hours)
    return settings.request_deadline_hours


def in_period(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Request.received_at >= start, Request.received_at < end)


def bucket_label(index: int) -> str:
    """'0-6 h', ..., '> 72 h' for the histogram's bucket `index`."""
    if index == len(BUCKETS_H):
        return f"> {BUCKETS_H[-1]} h"
    low = 0 if index == 0 else BUCKETS_H[index - 1]
    return f"{low}-{BUCKETS_H[index]} h"


def copy_bucket_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


# --- the durations ------------------------------------------------------------------------------


def _settled(action: Any) -> ColumnElement[bool]:
    return and_(action.status == ActionStatus.CONFIRMED, action.outcome.in_(GONE_OUTCOMES))


def _named(action: Any, item: Any) -> ColumnElement[bool]:
    """The action targets what the item itself named (else it is a copy found for it): the
    same content id or URL, or registered content at the URL the item gave (looked up only
    when the first two do not settle it)."""
    return or_(
        and_(action.content_id.is_not(None), action.content_id == item.content_id),
        and_(action.url.is_not(None), action.url == item.url),
        and_(
            item.url.is_not(None),
            action.content_id.is_not(None),
            select(Content.id)
            .where(Content.content_id == action.content_id, Content.url == item.url)
            .exists(),
        ),
    )


def removal_rows(start: datetime, end: datetime, dialect: str) -> Select[Any]:
    """Every removal action of the period's cases: clock, item, named?, settled?, removed?,
    seconds from receipt to confirmation."""
    a, i = aliased(Action), aliased(RequestItem)
    seconds = epoch(a.confirmed_at, dialect) - epoch(Request.received_at, dialect)
    return (
        select(
            clock_of(Request).label("clock"),
            a.item_id.label("item_id"),
            case((_named(a, i), 1), else_=0).label("named"),
            case((_settled(a), 1), else_=0).label("settled"),
            case((a.outcome == _const(ActionOutcome.REMOVED), 1), else_=0).label("removed"),
            seconds.label("seconds"),
        )
        .select_from(a)
        .join(Request, Request.id == a.request_id)
        .join(i, i.id == a.item_id)
        .where(a.type == REMOVE, in_period(start, end))
    )


# --- the period, read once ----------------------------------------------------------------------

# The clocks as small integers in the report's temporary tables: their index in CLOCKS.
CLOCK_CODES = {name: i for i, name in enumerate(CLOCKS)}
_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: the rowid, no second index
# Times and durations in the temporary tables: seconds (PostgreSQL), integer milliseconds on
# SQLite (`_epoch`).
_TIME = Float().with_variant(BigInteger(), "sqlite")


def clock_code(request: Any) -> ColumnElement[int]:
    """The index in CLOCKS of the clock a case runs on (as `clock_of`), in SQL."""
    return case(
        (request.child_safety == _const(ChildSafetyFlag.POSSIBLE), _const(CLOCK_CODES[MINOR])),
        (request.channel == _const(Channel.REGULATOR), _const(CLOCK_CODES[REGULATOR])),
        else_=_const(CLOCK_CODES[STANDARD]),
    )


# A report reads each large table once, joined with the narrow table of the period's cases,
# into a temporary table (private to the connection, outside the database file on SQLite),
# and counts from there.
_CASES = Table(
    "rescind_report_cases",
    MetaData(),
    Column("id", _ID, primary_key=True, autoincrement=False),
    Column("clock", Integer),
    Column("status", String(20)),
    Column("received", _TIME),  # `_epoch`
    Column("met", Integer),  # removed, confirmed by the deadline
    Column("missed", Integer),  # `missed_condition`
    Column("received_day", String(10)),
    Column("removed_day", String(10)),  # the UTC day it was removed, if its status says so
    prefixes=["TEMPORARY"],
)
_DECISIONS = Table(  # the period's cases that have decisions
    "rescind_report_decisions",
    MetaData(),
    Column("request_id", _ID, primary_key=True, autoincrement=False),
    Column("clock", Integer),
    Column("valid", Integer),  # a "remove" decision
    Column("decided", Integer),  # a "remove" or "reject" decision
    Column("first_removal", Decision.__table__.c.at.type),
    Column("last_reject", BigInteger),  # the id of the last "reject" decision
    Column("automated", Integer),  # how many decisions were automated
    Column("total", Integer),
    prefixes=["TEMPORARY"],
)
_REMOVALS = Table(  # the removal actions of the period's cases
    "rescind_report_removals",
    MetaData(),
    Column("clock", Integer),
    Column("item_id", BigInteger),
    Column("named", Integer),
    Column("settled", Integer),
    Column("duration", _TIME),  # from receipt to confirmation (`_epoch`)
    prefixes=["TEMPORARY"],
)
_TEMPORARY = (_CASES, _DECISIONS, _REMOVALS)


@contextmanager
def _temporary_tables(session: Session, tables: tuple[Table, ...] = _TEMPORARY) -> Iterator[None]:
    """The report's temporary `tables`, created empty, dropped on the way out."""
    drops = [text(f"DROP TABLE IF EXISTS {table.name}") for table in tables]
    for drop in drops:
        session.execute(drop)
    for table in tables:
        table.create(session.connection())
    try:
        yield
    finally:
        for drop in drops:
            session.execute(drop)


def _fill(session: Session, table: Table, query: Select[*tuple[Any, ...]]) -> None:
    session.execute(insert(table).from_select([c.name for c in table.columns], query))


def _fetch(session: Session, query: Select[*tuple[Any, ...]]) -> list[Any]:
    """The rows of a query over the temporary tables (only literal constants in it) through
    the driver's own cursor: no per-row work by SQLAlchemy, half the cost at a million rows."""
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _fill_cases(
    session: Session, start: datetime, end: datetime, now: datetime, dialect: str
) -> None:
    removed = Request.status == _const(RequestStatus.REMOVED)
    _fill(
        session,
        _CASES,
        select(
            Request.id,
            clock_code(Request),
            Request.status,
            _epoch(Request.received_at, dialect),
            case((and_(removed, Request.removed_at <= Request.deadline_at), 1), else_=0),
            case((missed_condition(now), 1), else_=0),
            utc_day(Request.received_at, dialect),
            case((removed, utc_day(Request.removed_at, dialect)), else_=None),
        ).where(_period_scan(session, start, end, dialect)),
    )


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """A time in the report's temporary tables: on SQLite, integer milliseconds (`julianday`
    is exact to the millisecond, so the rounded product is exact and differences of two are
    exact durations, read into numpy as integers); elsewhere `sqltime.epoch`'s seconds."""
    if dialect != "sqlite":
        return epoch(column, dialect)
    return func.cast(func.round(func.julianday(column) * literal_column("86400000")), BigInteger)


def _period_scan(
    session: Session, start: datetime, end: datetime, dialect: str
) -> ColumnElement[bool]:
    """`in_period`, for reading the period's cases in one pass.

    SQLite (without statistics) takes the receipt index for any range; for a period that
    holds much of the table, reading the rows in receipt order instead of in the table's
    order cost several times a scan (1M cases: 7.9 s of CPU against 1.1 s). So a period with
    more than an eighth of the cases is read by a scan (`+received_at` keeps SQLite off the
    index); a short one, counted first on the index alone, through the index."""
    if dialect != "sqlite":
        return in_period(start, end)  # PostgreSQL chooses by its statistics
    period = session.scalar(select(func.count()).select_from(Request).where(in_period(start, end)))
    highest = session.scalar(select(func.max(Request.id)))  # about the number of cases
    if (period or 0) * 8 < (highest or 0):
        return in_period(start, end)
    received = _received_unindexed(dialect)
    return and_(received >= start, received < end)


def _received_unindexed(dialect: str) -> ColumnElement[datetime]:
    """`requests.received_at`, kept off its index on SQLite (the unary `+` changes nothing
    else): for reading in the table's order, or sorting a few rows, not walking the index."""
    if dialect != "sqlite":
        return Request.received_at.expression
    return type_coerce(literal_column("+requests.received_at"), Request.received_at.type)


def _fill_decisions(session: Session) -> None:
    c = _CASES.c
    remove = Decision.outcome == _const(DecisionOutcome.REMOVE)
    reject = Decision.outcome == _const(DecisionOutcome.REJECT)
    _fill(
        session,
        _DECISIONS,
        select(
            Decision.request_id,
            func.max(c.clock),
            func.max(case((remove, 1), else_=0)),
            func.max(case((or_(remove, reject), 1), else_=0)),
            func.min(case((remove, Decision.at), else_=None)),
            func.max(case((reject, Decision.id), else_=None)),
            func.sum(case((Decision.automated, 1), else_=0)),
            func.count(),
        )
        .join(_CASES, c.id == Decision.request_id)
        .group_by(Decision.request_id),
    )


def _fill_removals(session: Session, dialect: str) -> None:
    a, i, c = aliased(Action), aliased(RequestItem), _CASES.c
    _fill(
        session,
        _REMOVALS,
        select(
            c.clock,
            a.item_id,
            case((_named(a, i), 1), else_=0),
            case((_settled(a), 1), else_=0),
            _epoch(a.confirmed_at, dialect) - c.received,
        )
        .select_from(a)
        .join(_CASES, c.id == a.request_id)
        .join(i, i.id == a.item_id)
        .where(a.type == REMOVE),
    )


def _distribution(values: Any) -> Distribution:
    """Nearest-rank percentiles, maximum and histogram of durations (a numpy array)."""
    ordered = np.sort(values)
    n = len(ordered)
    # Nearest rank: the ceil(p * n / 100)-th value, in integers.
    at = {name: float(ordered[(p * n + 99) // 100 - 1]) for name, p in PERCENTILES}
    bounds = np.asarray([h * 3600 for h in BUCKETS_H], dtype=np.float64)
    under = [int(c) for c in np.searchsorted(ordered, bounds, side="left")]
    cumulative = [*under, n]
    buckets = tuple(c - (cumulative[i - 1] if i else 0) for i, c in enumerate(cumulative))
    return Distribution(n, at["median"], at["p90"], at["p99"], float(ordered[-1]), buckets)


def distributions(session: Session, durations: Select[*tuple[Any, ...]]) -> dict[str, Distribution]:
    """Per clock: the distribution of (clock, seconds) rows.

    The database selects the durations (joins, grouping); they are sorted here with numpy, one
    float per row, which measured several times faster than SQLite's window functions over
    a million rows (and SQLite has no percentile aggregate)."""
    rows = session.execute(durations).all()
    if not rows:
        return {}
    clocks, seconds = zip(*rows, strict=True)
    names = np.asarray(clocks, dtype=object)
    values = np.asarray(seconds, dtype=np.float64)
    return {str(clock): _distribution(values[names == clock]) for clock in sorted(set(clocks))}


def _clock_distributions(rows: list[Any]) -> dict[str, Distribution]:
    """Per clock: the distribution of (clock code, seconds) rows."""
    if not rows:
        return {}
    try:  # several times faster than np.array over a list of tuples
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=2 * len(rows))
    except TypeError:  # a NULL duration (a confirmation without its time): NaN, as np.array
        flat = np.array(rows, dtype=np.float64)
    table = flat.reshape(len(rows), 2)
    codes = table[:, 0].astype(np.int64)
    return {
        name: _distribution(table[codes == code, 1])
        for name, code in CLOCK_CODES.items()
        if (codes == code).any()
    }


# --- missed deadlines ---------------------------------------------------------------------------


def missed_condition(now: datetime) -> ColumnElement[bool]:
    """A case missed its deadline: removed after it, or still running past it."""
    return or_(
        and_(Request.removed_at.is_not(None), Request.removed_at > Request.deadline_at),
        and_(Request.status.in_(CLOCK_RUNNING_STATUSES), Request.deadline_at < now),
    )


def missed_reason(
    status: str, deadline_at: datetime, decided_at: datetime | None, needs_review: bool
) -> str:
    """The key in MISSED_REASONS for a case that missed its deadline."""
    if status in (RequestStatus.RECEIVED, RequestStatus.IN_REVIEW) and decided_at is None:
        return "awaiting_review"
    if status == RequestStatus.NEED_INFO and decided_at is None:
        return "need_info"
    if decided_at is not None and decided_at > deadline_at:
        return "decided_late"
    if status == RequestStatus.REMOVAL_PENDING:
        return "came_back" if needs_review else "awaiting_platform"
    if status in (RequestStatus.RECEIVED, RequestStatus.IN_REVIEW):
        return "awaiting_review"
    if status == RequestStatus.NEED_INFO:
        return "need_info"
    return "confirmed_late"


def _missed_reason_sql(
    status: Any, deadline_at: Any, decided_at: Any, needs_review: Any
) -> ColumnElement[str]:
    """`missed_reason` in SQL (the brute-force test compares the two)."""
    waiting = (_const(RequestStatus.RECEIVED), _const(RequestStatus.IN_REVIEW))
    return case(
        (and_(status.in_(waiting), decided_at.is_(None)), _const("awaiting_review")),
        (
            and_(status == _const(RequestStatus.NEED_INFO), decided_at.is_(None)),
            _const("need_info"),
        ),
        (and_(decided_at.is_not(None), decided_at > deadline_at), _const("decided_late")),
        (
            status == _const(RequestStatus.REMOVAL_PENDING),
            case((needs_review, _const("came_back")), else_=_const("awaiting_platform")),
        ),
        (status.in_(waiting), _const("awaiting_review")),
        (status == _const(RequestStatus.NEED_INFO), _const("need_info")),
        else_=_const("confirmed_late"),
    )


def _missed(session: Session) -> list[MissedCase]:
    """The period's cases that missed their deadline, in receipt order."""
    c, d = _CASES.c, _DECISIONS.c
    # Times as the driver gives them (SQLite: text), converted by `_aware`: the column types'
    # own per-row processing (a regular expression per SQLite datetime) was most of the cost.
    rows = _fetch(
        session,
        select(
            Request.case_number,
            c.clock,
            c.status,
            type_coerce(Request.received_at, String),
            type_coerce(Request.deadline_at, String),
            type_coerce(Request.removed_at, String),
            type_coerce(d.first_removal, String),
            _missed_reason_sql(
                c.status, Request.deadline_at, d.first_removal, Request.needs_review
            ),
        )
        .select_from(_CASES)
        .join(Request, Request.id == c.id)
        .outerjoin(_DECISIONS, d.request_id == c.id)
        .where(c.missed == 1)
        # Sorted after reading the missed cases (on SQLite, not in the receipt index's order:
        # that walked every case of the period to find them, four times the time).
        .order_by(_received_unindexed(session.get_bind().dialect.name), Request.id),
    )
    if rows and isinstance(rows[0][4], str):  # SQLite: text without offset, in UTC
        parse = datetime.fromisoformat
        return [
            MissedCase(
                number,
                CLOCKS[clock],
                status,
                parse(received + "+00:00"),
                parse(deadline + "+00:00"),
                None if removed is None else parse(removed + "+00:00"),
                None if decided is None else parse(decided + "+00:00"),
                reason,
            )
            for number, clock, status, received, deadline, removed, decided, reason in rows
        ]
    return [
        MissedCase(
            number,
            CLOCKS[clock],
            status,
            _utc(received),
            _utc(deadline),
            _aware(removed),
            _aware(decided),
            reason,
        )
        for number, clock, status, received, deadline, removed, decided, reason in rows
    ]


def _aware(value: Any) -> datetime | None:
    """A UTC time as the driver returned it (SQLite: text; PostgreSQL: aware datetime)."""
    return None if value is None else _utc(value)


def _utc(value: Any) -> datetime:
    """A UTC time as the driver returned it, never NULL."""
    if isinstance(value, str):
        # SQLite's text has no offset: read as UTC directly (datetime.replace(tzinfo=...)
        # costs several times the parsing).
        value = datetime.fromisoformat(value if "+" in value[19:] else value + "+00:00")
    assert isinstance(value, datetime)
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- the report ---------------------------------------------------------------------------------


def chain_head(session: Session) -> tuple[int | None, str | None]:
    """The newest audit event (id, hash) when the report was computed."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (None, None) if row is None else (int(row[0]), str(row[1]))


def compute(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    parallel: bool | None = None,
) -> Report:
    """The report of cases received in [start, end), as they stand at `now`.

    A large period (`PARALLEL_FROM` cases or more) is counted in two halves at once, each on
    its own connection in its own thread, both reading one snapshot of the database
    (`snapshot`), when `session` has written nothing yet (its writes would not be seen by the
    other connections); `parallel` forces either way."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    chosen = parallel is None
    if parallel is None:
        parallel = _parallel_pays(session, start, end)
    if parallel:
        try:
            return _compute_parallel(session, settings, start, end, now, dialect)
        except SnapshotUnavailable:
            if not chosen:
                raise
            # A long write held SQLite's lock past the busy timeout: one connection needs none.
    with _temporary_tables(session):
        _fill_cases(session, start, end, now, dialect)
        # After the first read of the period (SQLite: which began the read transaction), so
        # that the head is read in the same snapshot as the cases.
        report = Report(start, end, now, *chain_head(session))
        _fill_decisions(session)
        _fill_removals(session, dialect)
        cases, met, valid = _count_cases(session, report)
        items, copies = _count_removals(session, report)
        _finish(report, settings, cases, met, valid, items, copies)
    return report


# A period of this many cases or more is counted on two connections at once (measured at 100k
# cases on 2 cores: 0.75 s wall and 1.32 s CPU against 1.13 s on one connection; smaller
# periods stay on one: the second table of cases and the threads are a larger share there).
PARALLEL_FROM = 100_000


def _parallel_pays(session: Session, start: datetime, end: datetime) -> bool:
    """Whether to count the period on two connections: it is large, and `session` holds no
    uncommitted write (which the other connections could not see, and which on SQLite holds
    the lock that `snapshot` takes)."""
    if _has_written(session):
        return False
    period = session.scalar(select(func.count()).select_from(Request).where(in_period(start, end)))
    return (period or 0) >= PARALLEL_FROM


def _has_written(session: Session) -> bool:
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Python's sqlite3 begins a transaction only before a write.
        return bool(getattr(connection.connection.dbapi_connection, "in_transaction", True))
    if connection.dialect.name == "postgresql":
        return (
            connection.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar()
            is not None
        )
    return True


class SnapshotUnavailable(RuntimeError):
    """SQLite's write lock, needed a moment to start readers on one snapshot, stayed taken."""


@contextmanager
def snapshot(engine: Engine, count: int) -> Iterator[list[Connection]]:
    """`count` new connections that read the same snapshot of the database, in a transaction
    each (rolled back on the way out).

    SQLite (WAL): a third connection takes the write lock (`BEGIN IMMEDIATE`), each reader
    begins and reads once (which fixes its WAL snapshot), then the lock is released: no
    commit can land between the readers' snapshots. PostgreSQL: the first reader's
    repeatable-read snapshot is exported (`pg_export_snapshot`) and the others import it."""
    with ExitStack() as stack:
        readers = [stack.enter_context(engine.connect()) for _ in range(count)]
        if engine.dialect.name == "sqlite":
            with engine.connect() as lock:
                try:
                    lock.exec_driver_sql("BEGIN IMMEDIATE")
                except OperationalError as exc:  # "database is locked" after busy_timeout
                    raise SnapshotUnavailable(str(exc.orig)) from exc
                try:
                    for reader in readers:
                        reader.exec_driver_sql("BEGIN")
                        reader.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar()
                finally:
                    lock.rollback()
        elif engine.dialect.name == "postgresql":
            first, *others = readers
            first.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            exported = str(first.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
            if not re.fullmatch(r"[0-9A-Fa-f-]+", exported):
                raise RuntimeError("unexpected snapshot id from pg_export_snapshot()")
            for reader in others:
                reader.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                reader.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{exported}'")
        else:
            raise NotImplementedError(engine.dialect.name)
        yield readers


def _compute_parallel(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    now: datetime,
    dialect: str,
) -> Report:
    """`compute` on two connections of one snapshot, each in its own thread: the cases, their
    decisions, appeals and missed deadlines on one; the copies per case, the removal actions
    and their durations on the other (1M cases: about 5.5 s of CPU each). Each builds its
    own table of the period's cases (temporary tables belong to one connection). SQLite and
    numpy release the GIL while they work."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with snapshot(engine, 2) as (first, second):
        one, two = Session(bind=first), Session(bind=second)
        report = Report(start, end, now, *chain_head(one))

        def cases() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
            with _temporary_tables(one, (_CASES, _DECISIONS)):
                _fill_cases(one, start, end, now, dialect)
                _fill_decisions(one)
                return _count_cases(one, report)

        def removals() -> tuple[dict[str, Distribution], dict[str, Distribution]]:
            with _temporary_tables(two, (_CASES, _REMOVALS)):
                _fill_cases(two, start, end, now, dialect)
                _fill_removals(two, dialect)
                return _count_removals(two, report)

        try:
            with ThreadPoolExecutor(2, thread_name_prefix="rescind-report") as pool:
                counted = pool.submit(cases)
                removed = pool.submit(removals)
                items, copies = removed.result()
                case_counts = counted.result()
        finally:
            one.close()
            two.close()
    _finish(report, settings, *case_counts, items, copies)
    return report


def _count_cases(
    session: Session, report: Report
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The figures of the cases, their decisions, appeals and restores (from the filled
    `_CASES` and `_DECISIONS`); per clock: cases, met, valid."""
    c, d = _CASES.c, _DECISIONS.c
    # The cases' groups (clock, status, met, day received, day removed) counted in Python from
    # one read of the narrow table: three GROUP BYs (each a sort in SQLite) cost more.
    groups = Counter(
        _fetch(session, select(c.clock, c.status, c.met, c.received_day, c.removed_day))
    )
    cases: dict[str, int] = {}
    met: dict[str, int] = {}
    days: dict[str, list[int]] = {}
    for (code, status, is_met, received_day, removed_day), n in groups.items():
        clock = CLOCKS[code]
        cases[clock] = cases.get(clock, 0) + n
        met[clock] = met.get(clock, 0) + (n if is_met else 0)
        days.setdefault(str(received_day), [0, 0])[0] += n
        if removed_day is not None:
            days.setdefault(str(removed_day), [0, 0])[1] += n
        report.received += n
        if status == RequestStatus.REMOVED:
            report.removed += n
        elif status == RequestStatus.REJECTED:
            report.rejected += n
        elif status == RequestStatus.WITHDRAWN:
            report.withdrawn += n
        elif status == RequestStatus.REMOVAL_PENDING:
            report.removal_pending += n
        else:
            report.open += n
    report.per_day = [(day, v[0], v[1]) for day, v in sorted(days.items())]

    # Valid: a reviewer (or rule) decided to remove; decided: removed or rejected by decision.
    valid: dict[str, int] = {}
    for code, n_valid, n_decided, automated, total in _fetch(
        session,
        select(
            d.clock,
            func.sum(d.valid),
            func.sum(d.decided),
            func.sum(d.automated),
            func.sum(d.total),
        ).group_by(d.clock),
    ):
        valid[CLOCKS[code]] = int(n_valid)
        report.valid += int(n_valid)
        report.decided += int(n_decided)
        report.decisions_automated += int(automated)
        report.decisions_human += int(total) - int(automated)

    # Rejected, by the reason of the case's last rejection.
    reason = func.coalesce(Decision.reason_code, literal("unspecified"))
    report.rejected_by_reason = {
        str(why): int(n)
        for why, n in _fetch(
            session,
            select(reason, func.count())
            .select_from(_DECISIONS)
            .join(_CASES, c.id == d.request_id)
            .join(Decision, Decision.id == d.last_reject)
            .where(c.status == _const(RequestStatus.REJECTED))
            .group_by(reason)
            .order_by(reason),
        )
    }

    for lead_status, n in _fetch(
        session,
        select(Lead.status, func.count())
        .join(_CASES, c.id == Lead.request_id)
        .group_by(Lead.status),
    ):
        if lead_status == LeadStatus.CONFIRMED:
            report.leads_confirmed = n
        elif lead_status == LeadStatus.DISMISSED:
            report.leads_dismissed = n
        else:
            report.leads_unconfirmed = n

    _appeals(session, report)
    report.missed = _missed(session)
    return cases, met, valid


def _count_removals(
    session: Session, report: Report
) -> tuple[dict[str, Distribution], dict[str, Distribution]]:
    """The copies found per case; from the filled `_REMOVALS`, per clock the time to removal
    of the items and of the copies."""
    r = _REMOVALS.c
    _copies(session, report)
    # Per item: until its last named removal was confirmed; only items whose every named
    # removal is settled. Per copy: each whose removal the platform confirmed.
    items = _durations(
        session,
        select(r.clock, func.max(r.duration).label("duration"))
        .where(r.named == 1)
        .group_by(r.clock, r.item_id)
        .having(func.sum(r.settled) == func.count()),
    )
    copies = _durations(session, select(r.clock, r.duration).where(r.named == 0, r.settled == 1))
    return items, copies


# A duration that is NULL (a confirmation without its time), in `_durations`' integers.
_NO_TIME = -(2**50)


def _durations(session: Session, rows: Select[*tuple[Any, ...]]) -> dict[str, Distribution]:
    """Per clock: the distribution of (clock code, duration) rows.

    On SQLite the durations are integer milliseconds, read as one text of integers (each
    duration times 4 plus its clock code) that numpy parses: a million tuples made and read
    in Python cost several times that."""
    if session.get_bind().dialect.name != "sqlite":
        return _clock_distributions(_fetch(session, rows))
    sub = rows.subquery()
    key = func.coalesce(sub.c.duration, _const(_NO_TIME)) * _const(4) + sub.c.clock
    joined = _fetch(session, select(func.group_concat(key)))[0][0]
    if not joined:
        return {}
    keys = np.fromstring(joined, dtype=np.int64, sep=",")
    codes = keys & 3
    milliseconds = keys >> 2  # (4 d + c) >> 2 == d, negative or not
    seconds = milliseconds / 1000.0
    seconds[milliseconds == _NO_TIME] = np.nan  # as the rows' NULL below
    return {
        name: _distribution(seconds[codes == code])
        for name, code in CLOCK_CODES.items()
        if (codes == code).any()
    }


def _finish(
    report: Report,
    settings: Settings,
    cases: dict[str, int],
    met: dict[str, int],
    valid: dict[str, int],
    items: dict[str, Distribution],
    copies: dict[str, Distribution],
) -> None:
    """The per-clock figures, from both halves' counts."""
    # Valid cases without any copy (a case with copies is valid: only removals sweep).
    none, *some = report.copies_by_bucket
    report.copies_by_bucket[none] = max(
        report.valid - sum(report.copies_by_bucket[k] for k in some), 0
    )
    missed_by_clock: dict[str, int] = {}
    for m in report.missed:
        missed_by_clock[m.clock] = missed_by_clock.get(m.clock, 0) + 1
    report.clocks = [
        ClockFigures(
            name,
            clock_hours(settings, name),
            cases.get(name, 0),
            valid.get(name, 0),
            met.get(name, 0),
            missed_by_clock.get(name, 0),
            items.get(name, Distribution.empty()),
            copies.get(name, Distribution.empty()),
        )
        for name in CLOCKS
    ]


def appeal_kind(appeal: Any) -> ColumnElement[str]:
    """`removal` (an uploader's), `rejection` (a requester's, of the whole case) or
    `item_rejection` (a requester's, of one item)."""
    return case(
        (appeal.item_id.is_not(None), _const(APPEAL_ITEM_REJECTION)),
        else_=type_coerce(appeal.kind, String),
    )


def _appeals(session: Session, report: Report) -> None:
    """Appeals of the period's cases, and the content they (or a reviewer) put back."""
    statuses = {str(s): 0 for s in AppealStatus}
    kinds = {k: 0 for k in APPEAL_KINDS}
    kind = appeal_kind(Appeal).label("kind")
    for status, kind_name, n in session.execute(
        select(Appeal.status, kind, func.count())
        .join(_CASES, _CASES.c.id == Appeal.request_id)
        .group_by(Appeal.status, kind)
    ):
        statuses[str(status)] += n
        kinds[str(kind_name)] += n
    report.appeals_by_status = statuses
    report.appeals_by_kind = kinds
    # On SQLite, grouped by `+status`: else it walks the actions' (status, next attempt) index
    # for the order of the groups, a lookup per action (1M cases: 2.4 s of CPU, not 0.3 s).
    action_status: ColumnElement[Any] = (
        type_coerce(literal_column("+actions.status"), String)
        if session.get_bind().dialect.name == "sqlite"
        else Action.status.expression
    )
    for restore_status, n in session.execute(
        select(action_status, func.count())
        .select_from(Action)
        .join(_CASES, _CASES.c.id == Action.request_id)
        .where(Action.type == RESTORE)
        .group_by(action_status)
    ):
        report.restores += n
        if restore_status == ActionStatus.CONFIRMED:
            report.restores_confirmed += n


def _copies(session: Session, report: Report) -> None:
    """Copies found per valid case: distinct registered content matched in its name."""
    per_case = (
        select(Match.request_id, func.count(func.distinct(Match.content_pk)).label("n"))
        .join(_CASES, _CASES.c.id == Match.request_id)
        .group_by(Match.request_id)
        .subquery()
    )
    bucket = case(
        *[
            (per_case.c.n <= _const(high), _const(i))
            for i, (_low, high) in enumerate(COPY_BUCKETS)
            if high is not None
        ],
        else_=_const(len(COPY_BUCKETS) - 1),
    ).label("bucket")
    counts = [0] * len(COPY_BUCKETS)
    for index, cases, total, biggest in _fetch(
        session,
        select(bucket, func.count(), func.sum(per_case.c.n), func.max(per_case.c.n)).group_by(
            bucket
        ),
    ):
        counts[int(index)] = int(cases)
        report.copies_total += int(total or 0)
        report.copies_max = max(report.copies_max, int(biggest or 0))
    # The first bucket (valid cases without any copy) is filled in by `_finish`, once `valid`
    # is counted (possibly on the other connection).
    report.copies_by_bucket = {
        copy_bucket_label(low, high): counts[i] for i, (low, high) in enumerate(COPY_BUCKETS)
    }


# --- the cases behind a figure ------------------------------------------------------------------

STATUS_FIGURES = {
    "removed": (RequestStatus.REMOVED,),
    "rejected": (RequestStatus.REJECTED,),
    "withdrawn": (RequestStatus.WITHDRAWN,),
    "removal_pending": (RequestStatus.REMOVAL_PENDING,),
    "open": (RequestStatus.RECEIVED, RequestStatus.IN_REVIEW, RequestStatus.NEED_INFO),
}


class UnknownFigure(ValueError):
    """The figure named in a link does not exist."""


def case_query(figure: str, start: datetime, end: datetime, now: datetime) -> Select[str, datetime]:
    """The cases (case number, received at) behind `figure`, in receipt order.

    Figures: received, valid, decided, removed, rejected, rejected:<reason>, withdrawn,
    removal_pending, open, missed, missed:<clock>, met:<clock>, clock:<clock>, automated,
    human, leads:confirmed, leads:dismissed, copies, day:<YYYY-MM-DD> (received that UTC day),
    appeals, appeals:<status>, appeals:<kind>, restores.
    Raises UnknownFigure."""
    name, _, arg = figure.partition(":")
    query = select(Request.case_number, Request.received_at).where(in_period(start, end))
    if arg and name in ("missed", "met", "clock") and arg not in CLOCKS:
        raise UnknownFigure(figure)
    if name == "received" and not arg:
        pass
    elif name in STATUS_FIGURES and not arg:
        query = query.where(Request.status.in_(STATUS_FIGURES[name]))
    elif name == "rejected":
        last = (
            select(Decision.request_id, func.max(Decision.id).label("id"))
            .where(Decision.outcome == DecisionOutcome.REJECT)
            .group_by(Decision.request_id)
            .subquery()
        )
        reason = None if arg == "unspecified" else arg
        query = (
            query.join(last, last.c.request_id == Request.id)
            .join(Decision, Decision.id == last.c.id)
            .where(Request.status == RequestStatus.REJECTED)
            .where(
                Decision.reason_code.is_(None) if reason is None else Decision.reason_code == reason
            )
        )
    elif name in ("valid", "decided") and not arg:
        outcomes = (
            (DecisionOutcome.REMOVE,)
            if name == "valid"
            else (DecisionOutcome.REMOVE, DecisionOutcome.REJECT)
        )
        query = query.where(
            select(Decision.id)
            .where(Decision.request_id == Request.id, Decision.outcome.in_(outcomes))
            .exists()
        )
    elif name in ("automated", "human") and not arg:
        query = query.where(
            select(Decision.id)
            .where(Decision.request_id == Request.id, Decision.automated == (name == "automated"))
            .exists()
        )
    elif name == "missed":
        query = query.where(missed_condition(now))
        if arg:
            query = query.where(clock_of(Request) == _const(arg))
    elif name == "met" and arg:
        query = query.where(
            Request.status == RequestStatus.REMOVED,
            Request.removed_at <= Request.deadline_at,
            clock_of(Request) == _const(arg),
        )
    elif name == "clock" and arg:
        query = query.where(clock_of(Request) == _const(arg))
    elif name == "leads" and arg in (LeadStatus.CONFIRMED, LeadStatus.DISMISSED):
        query = query.where(
            select(Lead.id).where(Lead.request_id == Request.id, Lead.status == arg).exists()
        )
    elif name == "copies" and not arg:
        query = query.where(select(Match.id).where(Match.request_id == Request.id).exists())
    elif name == "appeals" and (not arg or arg in APPEAL_STATUSES or arg in APPEAL_KINDS):
        appealed = select(Appeal.id).where(Appeal.request_id == Request.id)
        if arg in APPEAL_STATUSES:
            appealed = appealed.where(Appeal.status == arg)
        elif arg:
            appealed = appealed.where(appeal_kind(Appeal) == _const(arg))
        query = query.where(appealed.exists())
    elif name == "restores" and not arg:
        query = query.where(
            select(Action.id)
            .where(Action.request_id == Request.id, Action.type == RESTORE)
            .exists()
        )
    elif name == "day" and arg:
        try:
            day = datetime.strptime(arg, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise UnknownFigure(figure) from None
        query = query.where(Request.received_at >= day, Request.received_at < day + timedelta(1))
    else:
        raise UnknownFigure(figure)
    return query.order_by(Request.received_at, Request.id)
