"""site_coverage: a period withdrawn with a reason

Revision ID: f4b8d2a6c0e3
Revises: e1f3a5c7b9d2
Create Date: 2026-12-16 09:00:00

A site listed under a kosher certificate from a mistyped date could be shortened but not
taken back. A period is now withdrawn (voided, with who, when and why) and never
deleted: it covers no day, a new period may overlap it, and the certificate page shows
it as withdrawn. Existing periods stand: the columns start empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f4b8d2a6c0e3"
down_revision: str | None = "e1f3a5c7b9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot add a foreign key to a table: batch mode copies site_coverage (nothing
    # refers to it) with the constraint; PostgreSQL adds it in place.
    with op.batch_alter_table("site_coverage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("voided_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("void_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_site_coverage_voided_by_id_user_account"),
            "user_account",
            ["voided_by_id"],
            ["id"],
            initially="DEFERRED",
            deferrable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("site_coverage", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_site_coverage_voided_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("voided_at")
