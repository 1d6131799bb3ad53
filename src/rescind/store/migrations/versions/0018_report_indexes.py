"""index cases by receipt, and decisions and items by case

A compliance report selects the period's cases by `requests.received_at` and reads their
decisions and items case by case; the case pages list a case's decisions and items. Without
these indexes each of them scans or sorts the whole table (a million cases: a sort of a
million decisions per report).

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_requests_received_at", "requests", ["received_at"])
    op.create_index("ix_decisions_request_id", "decisions", ["request_id"])
    op.create_index("ix_request_items_request_id", "request_items", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_request_items_request_id", table_name="request_items")
    op.drop_index("ix_decisions_request_id", table_name="decisions")
    op.drop_index("ix_requests_received_at", table_name="requests")
