"""audit events record how their hash was made (unkeyed SHA-256, or keyed HMAC-SHA256)

Rows written before this revision keep scheme "sha256" and still verify; every row written
after it is keyed with a key derived from the instance secret, which the database never holds.
A "sha256" row after the first keyed row is reported as tampering (docs/security-model.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default marks every existing row as unkeyed, without rewriting the table.
    op.add_column(
        "audit_events",
        sa.Column("scheme", sa.String(length=16), server_default="sha256", nullable=False),
    )


def downgrade() -> None:
    # Older code would read keyed rows as unkeyed ones and report them altered: keep them
    # verifiable by this revision's code only.
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("scheme")
