"""statuses are constrained to their enums (rescind.store.statuses)

The columns stay VARCHAR(20), so existing rows are unchanged; a CHECK constraint per column
refuses any value the code does not know. The values are the ones the code has written since
0001. On SQLite a constraint can only come with a rebuilt table (batch mode); env.py turns
foreign keys off around the rebuild, or dropping the old `requests` table would cascade to its
items, decisions and events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Repeated from rescind.store.statuses: a migration keeps the schema it made, whatever the
# enums become later (a new value needs a new migration).
CONSTRAINED: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"role": ("admin", "reviewer", "auditor")},
    "requests": {
        "status": ("received", "in_review", "need_info", "actioned", "rejected", "withdrawn"),
        "channel": ("public_form", "api", "regulator", "partner"),
    },
    "decisions": {"outcome": ("remove", "reject", "need_info")},
    "bank_entries": {"status": ("active", "withdrawn")},
    "contents": {"state": ("live", "removed", "blocked")},
    "actions": {"status": ("pending", "delivered", "done", "failed")},
    "jobs": {"status": ("queued", "running", "done", "failed")},
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    for table, columns in CONSTRAINED.items():
        with op.batch_alter_table(table) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), _condition(column, values)
                )


def downgrade() -> None:
    for table, columns in CONSTRAINED.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
