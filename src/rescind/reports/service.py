"""Producing a report: compute, render, and record in the audit log who produced which."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.reports.figures import Report, compute
from rescind.reports.render import render
from rescind.security import audit


def produce(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    fmt: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> tuple[Report, bytes]:
    """The report of [start, end) rendered as `fmt`, audited as `report.generate` (the event
    comes after the chain head the report names)."""
    report = compute(session, settings, start, end, now=now)
    body = render(report, fmt, base_url=settings.public_base_url, title=settings.platform_name)
    audit.record(
        session,
        actor,
        "report.generate",
        detail={
            "format": fmt,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "chain_head_id": report.chain_head_id,
        },
    )
    return report, body
