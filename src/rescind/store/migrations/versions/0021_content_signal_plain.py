"""whether a registered video frame is plain (a title card, a caption on black, a slide)

`/v1/check` judges each frame of an uploaded video plain when 70% or more of the 4x4 blocks
of its 64x64 PDQ buffer are flat or a smooth gradient (`rescind.media.robust_sparse`): a
video match resting on one plain moment of the query does not count
(`rescind.media.video_match.decide`). A removal banks a registered upload's frames from
these rows, and the copy sweep judges the banked video by its entries' `plain`: True or
False on the frames of a video hashed here, NULL for frames a platform sent and for rows
registered before (the banked video keeps today's rule). Only video frame rows may have one.

The column is added with its CHECK inline, as 0019 and 0020 added theirs: on SQLite an
ALTER TABLE ADD COLUMN, not a copy of the table; on PostgreSQL a nullable column without a
default, whose CHECK is validated in one scan without a rewrite.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As `rescind.store.models.CONTENT_SIGNAL_PLAIN` (repeated: a migration stays as written).
CHECK = "plain IS NULL OR signal_type = 'video_pdq'"


def upgrade() -> None:
    op.add_column(
        "content_signals",
        sa.Column(
            "plain",
            sa.Boolean(),
            sa.CheckConstraint(CHECK, name=op.f("ck_content_signals_plain")),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("content_signals") as batch:
        batch.drop_constraint(op.f("ck_content_signals_plain"), type_="check")
        batch.drop_column("plain")
