"""requests: a random status-page handle, the form token's digest, the sealed signature, the
under-18 answer and its child-safety flag, room for an NCMEC report reference

- `handle`: the requester's status-page session names the case by this random value, never by
  its row id. Existing rows get a fresh random handle here (no key is needed for that); their
  old sessions, which carried row ids, are refused by the new code anyway.
- `submission_digest`: a keyed digest of the public form's one-time token, unique, so a reload
  or a double submit finds the case already filed instead of filing a second one;
  `receipt_enc`: the status secret for a few minutes, sealed for the filing browser only.
- `signature_enc`: the typed signature sealed like the contact details. A migration cannot seal
  existing signatures (it never holds the instance key): old rows keep their plaintext
  `signature`, which is why that column becomes nullable; `rescind.cases.intake.signature_of` reads
  either (docs/operator-guide.md, "Secret key").
- `minor_answer`, `child_safety`: the answer to "under 18 when it was made?" and the flag it
  raises; `ncmec_report_id`, `ncmec_reported_at`: nullable, for a later report.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Repeated from rescind.store.statuses (a migration keeps the schema it made).
MINOR_ANSWERS = ("yes", "no", "not_sure")
CHILD_SAFETY = ("none", "possible")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("handle", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("submission_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("signature_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("receipt_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("minor_answer", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("child_safety", sa.String(length=20), server_default="none", nullable=False)
        )
        batch.add_column(sa.Column("ncmec_report_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("ncmec_reported_at", sa.DateTime(timezone=True)))
        batch.alter_column("signature", existing_type=sa.String(length=200), nullable=True)

    connection = op.get_bind()
    requests = sa.table("requests", sa.column("id", sa.BigInteger), sa.column("handle"))
    for (row_id,) in connection.execute(sa.select(requests.c.id)).all():
        connection.execute(
            requests.update()
            .where(requests.c.id == row_id)
            .values(handle=secrets.token_urlsafe(32))
        )

    with op.batch_alter_table("requests") as batch:
        batch.alter_column("handle", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_requests_handle"), ["handle"])
        batch.create_unique_constraint(op.f("uq_requests_submission_digest"), ["submission_digest"])
        batch.create_check_constraint(
            op.f("ck_requests_minor_answer"), _in("minor_answer", MINOR_ANSWERS)
        )
        batch.create_check_constraint(
            op.f("ck_requests_child_safety"), _in("child_safety", CHILD_SAFETY)
        )


def downgrade() -> None:
    # Sealed signatures cannot go back to plaintext without the key: refuse rather than lose
    # the Act's signature element of every case filed since this revision.
    connection = op.get_bind()
    sealed = connection.execute(
        sa.text("SELECT COUNT(*) FROM requests WHERE signature IS NULL")
    ).scalar_one()
    if sealed:
        raise RuntimeError(
            f"{sealed} request(s) hold only a sealed signature; downgrading would lose them"
        )
    with op.batch_alter_table("requests") as batch:
        batch.drop_constraint(op.f("ck_requests_child_safety"), type_="check")
        batch.drop_constraint(op.f("ck_requests_minor_answer"), type_="check")
        batch.drop_constraint(op.f("uq_requests_submission_digest"), type_="unique")
        batch.drop_constraint(op.f("uq_requests_handle"), type_="unique")
        batch.alter_column("signature", existing_type=sa.String(length=200), nullable=False)
        for column in (
            "ncmec_reported_at",
            "ncmec_report_id",
            "child_safety",
            "minor_answer",
            "receipt_enc",
            "signature_enc",
            "submission_digest",
            "handle",
        ):
            batch.drop_column(column)
