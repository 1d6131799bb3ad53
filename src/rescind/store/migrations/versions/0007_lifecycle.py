"""the removal lifecycle: "removed" only once the platform confirmed it (issue 18)

- requests: `actioned` becomes `removal_pending`, or `removed` when every action of the case
  was already marked done (a platform confirmation or an operator's mark); a case decided
  "remove" that queued no action at all is flagged `needs_review` (nothing was removed).
  New columns `removed_at` (the last confirmation) and `needs_review`.
- request_items: a per-item `status` (items of removed / rejected cases get `remove` /
  `rejected`), `decision_note`, `decided_at`.
- actions: `done` becomes `confirmed` with outcome `removed` (what "done" claimed); the
  content id may be null (an action naming only a URL), new `url`, `item_id`, `outcome`,
  `outcome_note`, `confirmed_at`.
- leads: registry content matched by a requester's hash, for a reviewer to confirm.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Repeated from rescind.store.statuses (a migration keeps the schema it made).
REQUEST_STATUS = (
    "received",
    "in_review",
    "need_info",
    "removal_pending",
    "removed",
    "rejected",
    "withdrawn",
)
OLD_REQUEST_STATUS = ("received", "in_review", "need_info", "actioned", "rejected", "withdrawn")
ITEM_STATUS = ("pending", "remove", "rejected", "handled_outside")
LEAD_STATUS = ("unconfirmed", "confirmed", "dismissed")
ACTION_STATUS = ("pending", "delivered", "confirmed", "failed")
OLD_ACTION_STATUS = ("pending", "delivered", "done", "failed")
ACTION_OUTCOME = ("removed", "not_found", "not_ours", "refused")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_constraint(op.f("ck_requests_status"), type_="check")
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("needs_review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("actions") as batch:
        batch.drop_constraint(op.f("ck_actions_status"), type_="check")
        batch.alter_column("content_id", existing_type=sa.String(length=255), nullable=True)
        batch.add_column(sa.Column("url", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("item_id", BigId, nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_actions_item_id_request_items"), "request_items", ["item_id"], ["id"]
        )
        batch.create_index(batch.f("ix_actions_item_id"), ["item_id"], unique=False)
    with op.batch_alter_table("request_items") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=20), server_default="pending", nullable=False)
        )
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))

    # "done" claimed the platform took the action: keep that claim, as a "removed" outcome.
    op.execute(
        "UPDATE actions SET status = 'confirmed', outcome = 'removed', "
        "confirmed_at = COALESCE(delivered_at, created_at) WHERE status = 'done'"
    )
    op.execute(
        "UPDATE requests SET status = 'removed', removed_at = (SELECT MAX(a.confirmed_at) "
        "FROM actions a WHERE a.request_id = requests.id) "
        "WHERE status = 'actioned' "
        "AND EXISTS (SELECT 1 FROM actions a WHERE a.request_id = requests.id) "
        "AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.request_id = requests.id "
        "AND a.status <> 'confirmed')"
    )
    # A removal decided with no action at all removed nothing: a reviewer must look again.
    op.execute(
        "UPDATE requests SET status = 'removal_pending', needs_review = (1 = 1) "
        "WHERE status = 'actioned' "
        "AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.request_id = requests.id)"
    )
    op.execute("UPDATE requests SET status = 'removal_pending' WHERE status = 'actioned'")
    op.execute(
        "UPDATE request_items SET status = 'remove' WHERE request_id IN "
        "(SELECT id FROM requests WHERE status IN ('removal_pending', 'removed'))"
    )
    op.execute(
        "UPDATE request_items SET status = 'rejected' WHERE request_id IN "
        "(SELECT id FROM requests WHERE status = 'rejected')"
    )

    with op.batch_alter_table("requests") as batch:
        batch.create_check_constraint(op.f("ck_requests_status"), _in("status", REQUEST_STATUS))
    with op.batch_alter_table("actions") as batch:
        batch.create_check_constraint(op.f("ck_actions_status"), _in("status", ACTION_STATUS))
        batch.create_check_constraint(op.f("ck_actions_outcome"), _in("outcome", ACTION_OUTCOME))
    with op.batch_alter_table("request_items") as batch:
        batch.create_check_constraint(op.f("ck_request_items_status"), _in("status", ITEM_STATUS))

    op.create_table(
        "leads",
        sa.Column("id", BigId, nullable=False),
        sa.Column("request_id", BigId, nullable=False),
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("content_pk", BigId, nullable=False),
        sa.Column("bank_entry_id", BigId, nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("status", LEAD_STATUS), name=op.f("ck_leads_status")),
        sa.ForeignKeyConstraint(
            ["bank_entry_id"], ["bank_entries.id"], name=op.f("fk_leads_bank_entry_id_bank_entries")
        ),
        sa.ForeignKeyConstraint(
            ["content_pk"],
            ["contents.id"],
            name=op.f("fk_leads_content_pk_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["request_items.id"], name=op.f("fk_leads_item_id_request_items")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_leads_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("item_id", "content_pk", name=op.f("uq_leads_item_id")),
    )
    with op.batch_alter_table("leads") as batch:
        batch.create_index(batch.f("ix_leads_item_id"), ["item_id"], unique=False)
        batch.create_index(batch.f("ix_leads_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_table("leads")
    with op.batch_alter_table("request_items") as batch:
        batch.drop_constraint(op.f("ck_request_items_status"), type_="check")
        batch.drop_column("decided_at")
        batch.drop_column("decision_note")
        batch.drop_column("status")
    with op.batch_alter_table("actions") as batch:
        batch.drop_constraint(op.f("ck_actions_outcome"), type_="check")
        batch.drop_constraint(op.f("ck_actions_status"), type_="check")
    with op.batch_alter_table("requests") as batch:
        batch.drop_constraint(op.f("ck_requests_status"), type_="check")
    # Older code knows no outcome: only a "removed" confirmation was a "done".
    op.execute("UPDATE actions SET status = 'done' WHERE status = 'confirmed'")
    op.execute("DELETE FROM actions WHERE content_id IS NULL")
    op.execute(
        "UPDATE requests SET status = 'actioned' WHERE status IN ('removal_pending', 'removed')"
    )
    with op.batch_alter_table("actions") as batch:
        batch.drop_index(batch.f("ix_actions_item_id"))
        batch.drop_constraint(op.f("fk_actions_item_id_request_items"), type_="foreignkey")
        batch.drop_column("confirmed_at")
        batch.drop_column("outcome_note")
        batch.drop_column("outcome")
        batch.drop_column("item_id")
        batch.drop_column("url")
        batch.alter_column("content_id", existing_type=sa.String(length=255), nullable=False)
        batch.create_check_constraint(op.f("ck_actions_status"), _in("status", OLD_ACTION_STATUS))
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("needs_review")
        batch.drop_column("removed_at")
        batch.create_check_constraint(op.f("ck_requests_status"), _in("status", OLD_REQUEST_STATUS))
