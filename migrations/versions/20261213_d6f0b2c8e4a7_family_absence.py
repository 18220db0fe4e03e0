"""family_absence: the times a family was not a member

Revision ID: d6f0b2c8e4a7
Revises: c5e9a1d7f3b6
Create Date: 2026-12-13 09:00:00

A family that left and came back had its `left_on` cleared: the approved-producers list
of a month it was gone named it again, and a weighing dated in that month was accepted
once it was back. Each time away is kept, from the day it left until the day it came
back; a family inactive already is away from its `left_on` on.
"""

import uuid
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
    bind = op.get_bind()
    family = sa.table(
        "family",
        sa.column("id", sa.Uuid()),
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("active", sa.Boolean()),
        sa.column("left_on", sa.Date()),
        sa.column("updated_at", sa.DateTime()),
    )
    gone = bind.execute(
        sa.select(
            family.c.id, family.c.cooperative_id, family.c.left_on, family.c.updated_at
        ).where(family.c.active.is_(False))
    ).all()
    absence = sa.table(
        "family_absence",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime()),
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("family_id", sa.Uuid()),
        sa.column("left_on", sa.Date()),
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": updated_at,
            "cooperative_id": coop_id,
            "family_id": family_id,
            "left_on": left_on or updated_at.date(),
        }
        for family_id, coop_id, left_on, updated_at in gone
    ]
    if rows:
        op.bulk_insert(absence, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_family_absence_family_id"), table_name="family_absence")
    op.drop_index(op.f("ix_family_absence_cooperative_id"), table_name="family_absence")
    op.drop_table("family_absence")
