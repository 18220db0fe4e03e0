"""season volumes: each family's sums per season, read by the season report and dashboard

Revision ID: e8b3f5a7c1d2
Revises: d4e8a2b6c910
Create Date: 2026-12-08 09:00:00

The season report and the dashboard summed the season's deliveries (with their claims and
flags) on every computation, so they grew with a cooperative's season: 12x slower at a
100x larger federation (docs/scaling.md). `season_volume` holds each family's sums per
season and slice (crop and form, claim type, unclaimed, certificate, over the cap),
derived like `delivery_claim` and kept by the claims engine in the transaction of every
change (services/season_volumes.py). The rows for the deliveries, claims and flags already
stored are filled by f9930dd15da6, with the service's own statements (one INSERT ...
SELECT of every slice per cooperative), which write that revision's columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import op

revision: str = "e8b3f5a7c1d2"
down_revision: str | None = "d4e8a2b6c910"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "season_volume",
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("net_g", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("premium_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_season_volume_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_season_volume_family_id_family"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint(
            "cooperative_id", "season", "kind", "key", "family_id", name=op.f("pk_season_volume")
        ),
    )
    op.create_index("ix_season_volume_family", "season_volume", ["family_id"], unique=False)
    # The rows are filled by f9930dd15da6, which recreates the table with today's columns:
    # the service's statements write those, not this revision's.
    pass


def downgrade() -> None:
    op.drop_index("ix_season_volume_family", table_name="season_volume")
    op.drop_table("season_volume")
