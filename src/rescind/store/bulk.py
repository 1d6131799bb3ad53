"""Bulk inserts that skip SQLAlchemy's per-row parameter processing.

A million rows through `session.execute(table.insert(), rows)` spend most of their time in
per-value bind processing. Here each column's bind processor runs once per distinct value
kind the caller marks constant (`constants`), the rest go to the driver as they are: callers
pass values that need no processing (ints, floats, str, None). PostgreSQL gets the rows by
`COPY ... FROM STDIN` (several times faster than `executemany`), SQLite by `executemany`;
either way in the session's transaction, so a failure anywhere rolls the whole insert back.
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
    names = ", ".join(table.c[name].name for name in (*columns, *(constants or {})))
    tail = tuple(fixed)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            # Only the model's own table and column names go into the text; values are data.
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write((*row, *tail))
            return
        marks = ", ".join(["?"] * (len(columns) + len(tail)))
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
        # Row by row from an iterator (sqlite3 takes any iterable; PEP 249's type says a
        # sequence): a row's tuple is freed before the next is made, so a page of rows never
        # piles up objects for the cyclic garbage collector to walk again and again.
        each = ((*row, *tail) for row in rows) if tail else iter(rows)
        cursor.executemany(sql, each)  # type: ignore[arg-type]
    finally:
        cursor.close()
