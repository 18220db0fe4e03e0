"""season volumes: the kilos still awaiting their price, per family, season and form

Revision ID: f2c4a6e8b0d1
Revises: e8b3f5a7c1d2
Create Date: 2026-12-09 09:00:00

A delivery weighed before its price was set ("precio por definir") has its kilos but no
value yet. The season report's average prices, per kg and per quintal, and each family's,
divided the value by every kilo, so they read those kilos as paid at 0. `season_volume`
now has a slice "pending" (key "crop/form") that the averages leave out. The upgrade
recomputes every cooperative's rows with the service's own statements, as e8b3f5a7c1d2
filled them; nothing else changes.
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "f2c4a6e8b0d1"
down_revision: str | None = "e8b3f5a7c1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if context.is_offline_mode():
        return
    from tracker.services import season_volumes

    season_volumes.refresh_every_cooperative(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM season_volume WHERE kind = 'pending'")
