"""The DSA transparency report figures (Art. 15 and 24) Rescind can give, as CSV, laid out by
the sections of the quantitative template of Commission Implementing Regulation (EU)
2024/2835 (Annex I): orders of Member State authorities (Art. 9/10), notices (Art. 16),
own-initiative moderation, complaints (Art. 20), out-of-court disputes (Art. 21), suspensions
(Art. 23), and the use of automated means.

What could be verified here (docs/reports.md says more): the regulation's quantitative
template has eight sections of tables, and reports are published as CSV (RFC 4180, UTF-8).
The official spreadsheet itself could not be fetched, so the rows name the indicator in words
(`section`, `indicator`, `breakdown`) rather than copying the template's cell identifiers; a
figure Rescind does not hold is a row with an empty value and a note saying why, never a
made-up zero.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from rescind.reports.figures import (
    APPEAL_ITEM_REJECTION,
    APPEAL_KINDS,
    Distribution,
    appeal_kind,
    distributions,
    in_period,
    removal_rows,
)
from rescind.reports.sqltime import epoch
from rescind.store.models import Appeal, Decision, Lead, Request
from rescind.store.statuses import (
    AppealKind,
    AppealStatus,
    Channel,
    ChildSafetyFlag,
    DecisionOutcome,
    LeadStatus,
    RequestStatus,
)

COLUMNS = ("section", "indicator", "breakdown", "value", "unit", "note")
NCII = "STATEMENT_CATEGORY_CYBER_VIOLENCE / KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"
MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
ORDERS = "orders"  # regulators' notices
NOTICES = "notices"


def _median_hours(d: Distribution | None) -> str:
    return "" if d is None or d.median is None else f"{d.median / 3600:.2f}"


def rows(session: Session, start: datetime, end: datetime) -> list[tuple[str, ...]]:
    """The figures, one row each (see COLUMNS)."""
    dialect = session.get_bind().dialect.name
    period = in_period(start, end)
    out: list[tuple[str, ...]] = []

    def row(
        section: str, indicator: str, breakdown: str, value: object, unit: str, note: str = ""
    ) -> None:
        out.append((section, indicator, breakdown, "" if value is None else str(value), unit, note))

    for kind, where, section in (
        (
            ORDERS,
            Request.channel == Channel.REGULATOR,
            "Orders to act against illegal content (Art. 9)",
        ),
        (NOTICES, Request.channel != Channel.REGULATOR, "Notices submitted (Art. 16)"),
    ):
        counts = dict(
            session.execute(
                select(Request.child_safety, func.count())
                .where(period, where)
                .group_by(Request.child_safety)
            ).all()
        )
        row(section, "received", NCII, counts.get(ChildSafetyFlag.NONE, 0), "count")
        row(section, "received", MINORS, counts.get(ChildSafetyFlag.POSSIBLE, 0), "count")
        if kind == NOTICES:
            row(
                section,
                "submitted by trusted flaggers",
                "all",
                None,
                "count",
                "Rescind does not record trusted-flagger status",
            )
        acted = session.scalar(
            select(func.count(func.distinct(Decision.request_id)))
            .join(Request, Request.id == Decision.request_id)
            .where(period, where, Decision.outcome == DecisionOutcome.REMOVE)
        )
        row(section, "actions taken (removal decided)", "all", acted or 0, "count")
        removed = session.scalar(
            select(func.count()).where(period, where, Request.status == RequestStatus.REMOVED)
        )
        row(section, "removal confirmed by the platform", "all", removed or 0, "count")
        rejected = session.scalar(
            select(func.count()).where(period, where, Request.status == RequestStatus.REJECTED)
        )
        row(section, "no action taken (rejected)", "all", rejected or 0, "count")
        automated = session.scalar(
            select(func.count(func.distinct(Decision.request_id)))
            .join(Request, Request.id == Decision.request_id)
            .where(period, where, Decision.automated.is_(True))
        )
        row(section, "processed by automated means", "all", automated or 0, "count")
        durations: Select[str, float] = select(
            literal_column(f"'{kind}'").label("clock"),
            (epoch(Request.removed_at, dialect) - epoch(Request.received_at, dialect)).label(
                "seconds"
            ),
        ).where(period, where, Request.status == RequestStatus.REMOVED)
        median = distributions(session, durations).get(kind)
        row(
            section,
            "median time to take action",
            "receipt to confirmed removal",
            _median_hours(median),
            "hours",
        )

    own = "Own-initiative content moderation"
    actions = removal_rows(start, end, dialect).subquery()
    copies = session.scalar(
        select(func.count())
        .select_from(actions)
        .where(actions.c.named == 0, actions.c.removed == 1)
    )
    row(
        own,
        "items removed on own initiative",
        NCII,
        copies or 0,
        "count",
        "copies of reported imagery found by hash matching (detection: automated)",
    )
    row(own, "restriction type", "DECISION_VISIBILITY_CONTENT_REMOVED", copies or 0, "count")

    section = "Complaints through the internal complaint-handling system (Art. 20)"
    appealed = appeal_kind(Appeal).label("kind")
    complaints = {
        (str(k), str(st)): n
        for k, st, n in session.execute(
            select(appealed, Appeal.status, func.count())
            .join(Request, Request.id == Appeal.request_id)
            .where(period)
            .group_by(appealed, Appeal.status)
        )
    }
    by_whom = {
        AppealKind.REMOVAL: "by uploaders, against a removal",
        AppealKind.REJECTION: "by requesters, against a rejected request",
        APPEAL_ITEM_REJECTION: "by requesters, against a rejected item",
    }
    for appeal_kind_name in APPEAL_KINDS:
        received = sum(n for (k, _st), n in complaints.items() if k == appeal_kind_name)
        row(section, "complaints received", by_whom[appeal_kind_name], received, "count")
    for status, words in (
        (AppealStatus.UPHELD, "decisions reversed (complaint upheld)"),
        (AppealStatus.DISMISSED, "decisions upheld (complaint dismissed)"),
        (AppealStatus.OPEN, "complaints pending"),
    ):
        total = sum(n for (_k, st), n in complaints.items() if st == status)
        row(section, words, "all", total, "count")
    row(
        section,
        "complaints decided by automated means",
        "all",
        0,
        "count",
        "a reviewer other than the one who decided always decides a complaint",
    )
    section = "Out-of-court dispute settlement (Art. 21)"
    row(section, "disputes submitted", "all", None, "count", "Rescind does not record disputes")
    section = "Suspensions (Art. 23)"
    row(section, "suspensions imposed", "all", None, "count", "Rescind suspends no accounts")

    section = "Use of automated means"
    by_kind = dict(
        session.execute(
            select(Decision.automated, func.count())
            .join(Request, Request.id == Decision.request_id)
            .where(period)
            .group_by(Decision.automated)
        ).all()
    )
    row(section, "decisions", "fully automated", by_kind.get(True, 0), "count")
    row(section, "decisions", "by a person", by_kind.get(False, 0), "count")
    leads = dict(
        session.execute(
            select(Lead.status, func.count())
            .join(Request, Request.id == Lead.request_id)
            .where(period)
            .group_by(Lead.status)
        ).all()
    )
    confirmed = leads.get(LeadStatus.CONFIRMED, 0)
    dismissed = leads.get(LeadStatus.DISMISSED, 0)
    row(section, "hash matches shown to a reviewer", "confirmed", confirmed, "count")
    row(section, "hash matches shown to a reviewer", "dismissed", dismissed, "count")
    decided = confirmed + dismissed
    row(
        section,
        "indicator of accuracy",
        "share of reviewed hash matches dismissed",
        f"{dismissed / decided:.4f}" if decided else "",
        "ratio",
        "an error-rate indicator of matching requesters' hashes",
    )
    return out


def to_csv(session: Session, start: datetime, end: datetime) -> str:
    """The figures as CSV (RFC 4180: CRLF line ends, UTF-8), with the period in a header row."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerow(("Reporting period", "start", "", start.date().isoformat(), "date", ""))
    w.writerow(("Reporting period", "end (excluded)", "", end.date().isoformat(), "date", ""))
    w.writerows(rows(session, start, end))
    return buffer.getvalue()
