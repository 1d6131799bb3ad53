"""whether a registered picture is sparse (text on a flat background)

`/v1/check` judges an uploaded picture sparse when 15% or more of the 4x4 blocks of its
64x64 PDQ buffer hold equal pixels (`rescind.media.robust_sparse`): its views then never
meet a banked picture's weak cut views, and its cut views meet banked cut views within 15
bits only (`rescind.media.robust.pair_limits`). The copy sweep needs the flag to apply the
same rule to registered pictures: True or False on the rows of the views an upload was
checked with (the rows with a view name), NULL for a hash a platform sent and for rows
registered before (the sweep keeps today's rule for them). Only picture rows may have one.

The column is added with its CHECK inline, as 0019 added `variant`: on SQLite an ALTER
TABLE ADD COLUMN, not a copy of the table; on PostgreSQL a nullable column without a
default, whose CHECK is validated in one scan without a rewrite.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As `rescind.store.models.CONTENT_SIGNAL_SPARSE` (repeated: a migration stays as written).
CHECK = "sparse IS NULL OR signal_type IN ('pdq', 'pdq_dihedral')"


def upgrade() -> None:
    op.add_column(
        "content_signals",
        sa.Column(
            "sparse",
            sa.Boolean(),
            sa.CheckConstraint(CHECK, name=op.f("ck_content_signals_sparse")),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("content_signals") as batch:
        batch.drop_constraint(op.f("ck_content_signals_sparse"), type_="check")
        batch.drop_column("sparse")
