"""appeals of one item's rejection; what an upheld appeal put back

- appeals.item_id: a requester's appeal against the rejection of one item of a case (the case
  partly removed), one per item; `decision_id` stays for an appeal of a whole-case rejection.
- appeals.restore_action_ids: the `content.restore` actions an upheld removal appeal wrote
  (the appealed content and the copies put back with it), so the platform reads exactly them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(sa.Column("item_id", BigId, nullable=True))
        batch.add_column(sa.Column("restore_action_ids", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_appeals_item_id_request_items"), "request_items", ["item_id"], ["id"]
        )
        batch.create_unique_constraint(batch.f("uq_appeals_item_id"), ["item_id"])


def downgrade() -> None:
    with op.batch_alter_table("appeals") as batch:
        batch.drop_constraint(batch.f("uq_appeals_item_id"), type_="unique")
        batch.drop_constraint(batch.f("fk_appeals_item_id_request_items"), type_="foreignkey")
        batch.drop_column("restore_action_ids")
        batch.drop_column("item_id")
