"""family_absence: the times a family was not a member

Revision ID: d6f0b2c8e4a7
Revises: c5e9a1d7f3b6
Create Date: 2026-12-13 09:00:00

A family that left and came back had its `left_on` cleared: the approved-producers list
of a month it was gone named it again, and a weighing dated in that month was accepted
once it was back. Each time away is kept, from the day it left until the day it came
back. A family inactive already keeps its `left_on` (it is away from that day on:
`families.was_away`, `coverage.member_on_clause`); its time away is recorded, through
the app and its audit log, when it comes back. The migration writes no row: a row
written here would be one the audit log never saw.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d6f0b2c8e4a7"
down_revision: str | None = "c5e9a1d7f3b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "family_absence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("back_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_family_absence_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_family_absence_family_id_family"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_absence")),
    )
    op.create_index(op.f("ix_family_absence_cooperative_id"), "family_absence", ["cooperative_id"])
    op.create_index(op.f("ix_family_absence_family_id"), "family_absence", ["family_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_family_absence_family_id"), table_name="family_absence")
    op.drop_index(op.f("ix_family_absence_cooperative_id"), table_name="family_absence")
    op.drop_table("family_absence")
