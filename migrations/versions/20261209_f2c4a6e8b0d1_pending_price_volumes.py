"""season volumes: the kilos still awaiting their price, per family, season and form

Revision ID: f2c4a6e8b0d1
Revises: e8b3f5a7c1d2
Create Date: 2026-12-09 09:00:00

A delivery weighed before its price was set ("precio por definir") has its kilos but no
value yet. The season report's average prices, per kg and per quintal, and each family's,
divided the value by every kilo, so they read those kilos as paid at 0. `season_volume`
now has a slice "pending" (key "crop/form") that the averages leave out. The upgrade
recomputed every cooperative's rows with the service's statements; f9930dd15da6 does that
now (its statements write today's columns), so this revision changes no schema.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2c4a6e8b0d1"
down_revision: str | None = "e8b3f5a7c1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The rows are filled by f9930dd15da6, which recreates the table with today's columns:
    # the service's statements write those, not this revision's.
    pass


def downgrade() -> None:
    op.execute("DELETE FROM season_volume WHERE kind = 'pending'")
