"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, func, literal_column
from sqlalchemy.sql.elements import ColumnElement


def epoch(column: Any, dialect: str) -> ColumnElement[float]:
    """Seconds since an epoch of a datetime column (differences of two are durations).

    SQLite stores UTC datetimes as text, which `julianday` reads; PostgreSQL's timestamptz
    gives its epoch directly (independent of the session's time zone)."""
    if dialect == "sqlite":
        return func.julianday(column).cast(Float) * literal_column("86400.0")
    return func.extract("epoch", column).cast(Float)


def utc_day(column: Any, dialect: str) -> ColumnElement[str]:
    """The UTC calendar day of a datetime column, as 'YYYY-MM-DD' text."""
    if dialect == "sqlite":
        return func.date(column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
