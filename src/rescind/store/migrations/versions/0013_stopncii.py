"""StopNCII.org adapter (issue 20): the person's consent to share, outside exchanges' state

- requests: `share_consent`, the person agreed that the case's hashes go to StopNCII.org.
- exchange_sources: an outside exchange we pull (`stopncii`): checkpoint, bank, last pull.
- stopncii_hashes: every StopNCII hash record as last pulled, whatever its type, with its
  per-case statuses (keyed digests of the case ids) and the bank entry it became.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(
            sa.Column("share_consent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "exchange_sources",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("bank_id", BigId, nullable=True),
        sa.Column("checkpoint", sa.BigInteger(), nullable=False),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name=op.f("fk_exchange_sources_bank_id_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_exchange_sources_name")),
    )
    op.create_table(
        "stopncii_hashes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signal_type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("supported", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", BigId, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'withdrawn')", name=op.f("ck_stopncii_hashes_status")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_stopncii_hashes_entry_id_bank_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stopncii_hashes")),
        sa.UniqueConstraint("digest", name=op.f("uq_stopncii_hashes_digest")),
    )
    with op.batch_alter_table("stopncii_hashes") as batch:
        batch.create_index(batch.f("ix_stopncii_hashes_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_table("stopncii_hashes")
    op.drop_table("exchange_sources")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("share_consent")
