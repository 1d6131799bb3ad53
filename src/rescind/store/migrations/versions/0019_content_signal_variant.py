"""the view name of a registered picture hash

A registered upload's PDQ hashes are its views (`full`, `full/rot90`, `trimmed`, `crop_c92`,
`half_t`...). The copy sweep needs the name to apply the rule `/v1/check` applies: a banked
turned view (`full/rot90`, `crop_c96/flip_h`) meets an upload's whole views only, never its
crops or halves. Rows registered before have none (NULL): the sweep keeps the looser rule
for them. Only picture rows may have one, 1-40 characters (the longest name is 18).

The column is added with its CHECK inline: on SQLite an ALTER TABLE ADD COLUMN, not a copy of
the table (the registry is its largest: about 40 rows per picture); on PostgreSQL a nullable
column without a default, whose CHECK is validated in one scan without a rewrite.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As `rescind.store.models.CONTENT_SIGNAL_VARIANT` (repeated: a migration stays as written).
CHECK = (
    "variant IS NULL OR (signal_type IN ('pdq', 'pdq_dihedral') "
    "AND length(variant) BETWEEN 1 AND 40)"
)


def upgrade() -> None:
    op.add_column(
        "content_signals",
        sa.Column(
            "variant",
            sa.String(length=40),
            sa.CheckConstraint(CHECK, name=op.f("ck_content_signals_variant")),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("content_signals") as batch:
        batch.drop_constraint(op.f("ck_content_signals_variant"), type_="check")
        batch.drop_column("variant")
