"""A status holds one of its enum's values, and the database itself refuses any other."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from rescind.store import Database
from rescind.store.columns import EnumString
from rescind.store.models import Base, Request
from rescind.store.statuses import RequestStatus
from tests.store.rows import STATUS_COLUMNS, add_every_status


@pytest.mark.parametrize(
    ("column", "enum"), STATUS_COLUMNS, ids=[str(c) for c, _ in STATUS_COLUMNS]
)
def test_the_database_refuses_an_unknown_status(
    database: Database, column: InstrumentedAttribute[str], enum: type[StrEnum]
) -> None:
    with database.session() as session:
        add_every_status(session)  # every known value is accepted
    table, name = column.class_.__tablename__, column.key
    with pytest.raises(IntegrityError), database.engine.begin() as conn:
        # Plain SQL, past the models: the constraint is the database's, not Python's.
        conn.execute(text(f"UPDATE {table} SET {name} = 'bogus'"))
    with database.engine.connect() as conn:
        stored = set(conn.execute(text(f"SELECT DISTINCT {name} FROM {table}")).scalars())
    assert stored == {member.value for member in enum}


def test_statuses_come_back_as_enum_members(database: Database) -> None:
    with database.session() as session:
        add_every_status(session)
        session.execute(update(Request).values(status=RequestStatus.NEED_INFO))
    with database.session() as session:
        status = session.scalars(select(Request.status)).first()
    assert status is RequestStatus.NEED_INFO


def test_every_status_column_is_covered() -> None:
    typed = {
        f"{table.name}.{col.name}"
        for table in Base.metadata.tables.values()
        for col in table.columns
        if isinstance(col.type, EnumString)
    }
    assert typed == {f"{c.class_.__tablename__}.{c.key}" for c, _ in STATUS_COLUMNS}
