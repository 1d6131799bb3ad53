"""hash exchange between instances: partner identity and state, links, grants, feedback

`partners` gains the partner's Ed25519 public key, the banks pulled, the local bank its entries
land in, and the state of its last pull. `exchange_links` remembers the source's reference of
each imported entry (so withdrawals find it); `exchange_grants` says which banks an `exchange`
API key may read; `exchange_feedback` keeps partners' verdicts on our shared entries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch_op:
        batch_op.add_column(sa.Column("public_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("banks", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("bank_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_partners_bank_id_banks"), "banks", ["bank_id"], ["id"])
    op.create_table(
        "exchange_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("source_bank", sa.String(length=120), nullable=True),
        sa.Column("case_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name=op.f("fk_exchange_links_bank_id_banks")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_exchange_links_entry_id_bank_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_links")),
        sa.UniqueConstraint(
            "bank_id", "origin", "remote_id", name=op.f("uq_exchange_links_bank_id")
        ),
    )
    op.create_index(
        op.f("ix_exchange_links_entry_id"), "exchange_links", ["entry_id"], unique=False
    )
    op.create_table(
        "exchange_grants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("api_key_id", _ID, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_exchange_grants_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name=op.f("fk_exchange_grants_bank_id_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_grants")),
        sa.UniqueConstraint("api_key_id", "bank_id", name=op.f("uq_exchange_grants_api_key_id")),
    )
    op.create_index(
        op.f("ix_exchange_grants_api_key_id"), "exchange_grants", ["api_key_id"], unique=False
    )
    op.create_table(
        "exchange_feedback",
        sa.Column("id", _ID, nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("api_key_id", _ID, nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_exchange_feedback_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_exchange_feedback_entry_id_bank_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_feedback")),
    )
    op.create_index(
        op.f("ix_exchange_feedback_entry_id"), "exchange_feedback", ["entry_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_feedback_entry_id"), table_name="exchange_feedback")
    op.drop_table("exchange_feedback")
    op.drop_index(op.f("ix_exchange_grants_api_key_id"), table_name="exchange_grants")
    op.drop_table("exchange_grants")
    op.drop_index(op.f("ix_exchange_links_entry_id"), table_name="exchange_links")
    op.drop_table("exchange_links")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_constraint(op.f("fk_partners_bank_id_banks"), type_="foreignkey")
        for column in ("last_error", "last_ok_at", "last_pull_at", "bank_id", "banks"):
            batch_op.drop_column(column)
        batch_op.drop_column("public_key")
