"""index only exact hashes by value in content_signals

PDQ and frame hashes are searched in the in-memory registry index, never by value in the
database; keeping them in the value index cost one random index page per registered hash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Repeated from rescind.store.models.EXACT_SIGNALS: a migration keeps the schema it made.
EXACT_SIGNALS = "signal_type IN ('md5', 'sha256')"


def upgrade() -> None:
    op.drop_index("ix_content_signals_signal", table_name="content_signals")
    op.create_index(
        "ix_content_signals_exact",
        "content_signals",
        ["signal_type", "value"],
        unique=False,
        sqlite_where=sa.text(EXACT_SIGNALS),
        postgresql_where=sa.text(EXACT_SIGNALS),
    )


def downgrade() -> None:
    op.drop_index("ix_content_signals_exact", table_name="content_signals")
    op.create_index(
        "ix_content_signals_signal", "content_signals", ["signal_type", "value"], unique=False
    )
