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
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import context, op

revision: str = "f2c4a6e8b0d1"
down_revision: str | None = "e8b3f5a7c1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if context.is_offline_mode():
        return
    from sqlmodel import Session

    from tracker.services import season_volumes

    cooperative = sa.table(
        "cooperative", sa.column("id", sa.Uuid()), sa.column("season_start_month", sa.Integer())
    )
    bind = op.get_bind()
    with Session(bind=bind) as session:
        for coop_id, month in bind.execute(
            sa.select(cooperative.c.id, cooperative.c.season_start_month)
        ).all():
            coop = SimpleNamespace(id=coop_id, season_start_month=month)
            season_volumes.refresh(session, coop)  # type: ignore[arg-type]


def downgrade() -> None:
    op.execute("DELETE FROM season_volume WHERE kind = 'pending'")
