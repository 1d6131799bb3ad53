"""appeals, CyberTipline reports, preservation, retention (issue 23)

- appeals: a complaint against a removal action (an uploader's, through the platform) or a
  rejection (a requester's), decided by another reviewer (DSA Art. 20).
- tipline_reports: one CyberTipline report per flagged case, with its state at NCMEC.
- preservations: the report and the reported hashes kept a year (18 U.S.C. 2258A(h)).
- requests.contact_purged_at: when the retention job erased the case's contact details.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-05 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)

# Repeated from rescind.store.statuses (a migration keeps the schema it made).
APPEAL_KIND = ("removal", "rejection")
APPEAL_STATUS = ("open", "upheld", "dismissed")
TIPLINE_STATE = ("queued", "submitting", "submitted", "finished", "needs_check", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("request_id", BigId, nullable=True),
        sa.Column("action_id", BigId, nullable=True),
        sa.Column("decision_id", BigId, nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        sa.Column("filed_at", UTC, nullable=False),
        sa.Column("decided_by_id", BigId, nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", APPEAL_KIND), name=op.f("ck_appeals_kind")),
        sa.CheckConstraint(_in("status", APPEAL_STATUS), name=op.f("ck_appeals_status")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_appeals_request_id_requests")
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_appeals_action_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_appeals_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_appeals_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("action_id", name=op.f("uq_appeals_action_id")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_appeals_decision_id")),
    )
    with op.batch_alter_table("appeals") as batch:
        batch.create_index(batch.f("ix_appeals_status"), ["status"], unique=False)
        batch.create_index(batch.f("ix_appeals_request_id"), ["request_id"], unique=False)
    op.create_table(
        "tipline_reports",
        sa.Column("id", BigId, nullable=False),
        sa.Column("request_id", BigId, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("report_xml", sa.Text(), nullable=False),
        sa.Column("ncmec_report_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTC, nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.CheckConstraint(_in("state", TIPLINE_STATE), name=op.f("ck_tipline_reports_state")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_tipline_reports_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tipline_reports")),
        sa.UniqueConstraint("request_id", name=op.f("uq_tipline_reports_request_id")),
    )
    op.create_table(
        "preservations",
        sa.Column("id", BigId, nullable=False),
        sa.Column("request_id", BigId, nullable=False),
        sa.Column("report_id", BigId, nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("report_xml", sa.Text(), nullable=False),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.Column("preserved_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name=op.f("fk_preservations_request_id_requests")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["tipline_reports.id"],
            name=op.f("fk_preservations_report_id_tipline_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preservations")),
        sa.UniqueConstraint("report_id", name=op.f("uq_preservations_report_id")),
    )
    with op.batch_alter_table("preservations") as batch:
        batch.create_index(batch.f("ix_preservations_request_id"), ["request_id"], unique=False)
        batch.create_index(batch.f("ix_preservations_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("contact_purged_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("contact_purged_at")
    op.drop_table("preservations")
    op.drop_table("tipline_reports")
    op.drop_table("appeals")
