"""plot_flag: the map a manager resolved a protected-area flag on

Revision ID: c5e9a1d7f3b6
Revises: b8d4f6a0c3e5
Create Date: 2026-12-12 12:00:00

A plot inside the protected area whose flag a manager resolved was flagged again by
any later check (an altitude corrected, the same boundary loaded again), and its
deliveries lost their claims again (rule 5: "until a manager resolves it"). A
resolution now keeps the SHA-256 of the plot's geometry and the boundary it was made
on; only a new point or boundary flags the plot again. A plot whose latest flag a
manager resolved, with no open flag since, takes today's map: nothing re-checked it
since (any check of a plot still inside would have raised a new flag).
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c5e9a1d7f3b6"
down_revision: str | None = "b8d4f6a0c3e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What services/plots.py wrote when a new boundary left a flagged plot outside.
AUTOMATIC = "Outside the protected area's new boundary."


def map_sha256(geometry: str | None, boundary: str | None) -> str:
    """services/plots.py: map_sha256, as it is at this revision."""
    return hashlib.sha256(f"{geometry or ''}\n{boundary or ''}".encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("plot_flag", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "resolved_map_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
    flag = sa.table(
        "plot_flag",
        sa.column("id", sa.Uuid()),
        sa.column("plot_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("resolution", sa.String()),
        sa.column("resolved_map_sha256", sa.String()),
    )
    plot = sa.table(
        "plot",
        sa.column("id", sa.Uuid()),
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("geometry_geojson", sa.Text()),
    )
    coop = sa.table(
        "cooperative", sa.column("id", sa.Uuid()), sa.column("protected_area_geojson", sa.Text())
    )
    rows = op.get_bind().execute(
        sa.select(
            flag.c.id,
            flag.c.plot_id,
            flag.c.resolved_at,
            flag.c.resolution,
            plot.c.geometry_geojson,
            coop.c.protected_area_geojson,
        )
        .join(plot, plot.c.id == flag.c.plot_id)
        .join(coop, coop.c.id == plot.c.cooperative_id)
        .where(flag.c.kind == "protected_area")
    )
    latest: dict[object, tuple] = {}
    still_open: set[object] = set()
    for row in rows:
        if row.resolved_at is None:
            still_open.add(row.plot_id)
        elif row.plot_id not in latest or row.resolved_at > latest[row.plot_id].resolved_at:
            latest[row.plot_id] = row
    for plot_id, row in latest.items():
        if plot_id in still_open or row.resolution == AUTOMATIC:
            continue
        if not row.geometry_geojson or not row.protected_area_geojson:
            continue
        op.execute(
            flag.update()
            .where(flag.c.id == row.id)
            .values(
                resolved_map_sha256=map_sha256(row.geometry_geojson, row.protected_area_geojson)
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plot_flag", schema=None) as batch_op:
        batch_op.drop_column("resolved_map_sha256")
