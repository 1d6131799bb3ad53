"""a requester's picture views, by variant name

A picture hashed on the requester's device brings its bank views (orientations, trimmed
borders, crops and tilts), each with its variant name and quality, so a remove decision
banks them as `POST /v1/banks/{name}/entries` banks the same views from a file.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-05 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("request_items") as batch:
        batch.add_column(sa.Column("views", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_items") as batch:
        batch.drop_column("views")
