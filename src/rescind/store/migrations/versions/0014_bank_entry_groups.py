"""index bank entries by item (group_key)

An item banked with its views (an image's orientations and crops, a video's frames) shares one
`group_key`; the HMA-compatible routes name such an item by one id and withdraw it whole, so
they find an item's entries by key. Partial: entries imported without a group (most of a
million-line file) cost the index nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Repeated from rescind.store.models.GROUPED: a migration keeps the schema it made.
GROUPED = "group_key IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_bank_entries_group_key",
        "bank_entries",
        ["group_key"],
        unique=False,
        sqlite_where=sa.text(GROUPED),
        postgresql_where=sa.text(GROUPED),
    )


def downgrade() -> None:
    op.drop_index("ix_bank_entries_group_key", table_name="bank_entries")
