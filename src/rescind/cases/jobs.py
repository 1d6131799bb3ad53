"""The background work of removal requests: emails, and the escalation of cases at risk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rescind.cases import deadlines, notify, retention
from rescind.config import Settings
from rescind.jobs.runner import JobRegistry


def _escalate(session: Session, settings: Settings, now: datetime) -> None:
    deadlines.escalate(session, settings, now)


# A minute is far finer than the 24h/40h escalation points and costs one indexed query.
ESCALATE_EVERY_S = 60.0


def register(registry: JobRegistry) -> None:
    """Add the cases' job handlers and periodic tasks to `registry`."""
    registry.add_handler(notify.REQUESTER_EMAIL, notify.send_requester_email)
    registry.add_handler(notify.REVIEWERS_EMAIL, notify.send_reviewers_email)
    registry.add_periodic("cases.escalate", ESCALATE_EVERY_S, _escalate)
    retention.register(registry)
