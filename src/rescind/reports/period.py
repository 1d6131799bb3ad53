"""The period a report covers, as given on the command line or in the console's picker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_DAYS = 3660  # ten years: a typo in a year should not scan a millennium


class InvalidPeriod(ValueError):
    """The period given cannot be read, or ends before it starts."""


def parse_instant(text: str, field: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 time (UTC when no offset is given)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidPeriod(
            f"{field}: not a date (YYYY-MM-DD) or ISO 8601 time: {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_period(start: str, end: str) -> tuple[datetime, datetime]:
    """[start, end): `end` itself is excluded (a month is `--from 2026-05-01 --to 2026-06-01`)."""
    since, until = parse_instant(start, "from"), parse_instant(end, "to")
    if until <= since:
        raise InvalidPeriod("to: must be after from")
    if until - since > timedelta(days=MAX_DAYS):
        raise InvalidPeriod(f"the period is longer than {MAX_DAYS} days")
    return since, until
