"""Bulk inserts that skip SQLAlchemy's per-row parameter processing.

A million rows through `session.execute(table.insert(), rows)` spend most of their time in
per-value bind processing. Here each column's bind processor runs once per distinct value
kind the caller marks constant (`constants`), the rest go to the driver's `executemany` as
they are: callers pass values that need no processing (ints, floats, str, None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert `rows` (values in `columns` order) plus `constants` (same value in every row,
    bind-processed once) into `table`, in the session's transaction."""
    connection = session.connection()
    dialect = connection.dialect
    fixed = []
    for name, value in (constants or {}).items():
        column_type = table.c[name].type
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        fixed.append(processor(value) if processor else value)
    names = [table.c[name].name for name in (*columns, *(constants or {}))]  # columns only
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(names))
    # Only the model's own table and column names go into the text; values are parameters.
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608
    tail = tuple(fixed)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, [(*row, *tail) for row in rows])
    finally:
        cursor.close()
