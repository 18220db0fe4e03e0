"""season volumes by product: a claim's, a certificate's and the unclaimed kilos per product

Revision ID: f9930dd15da6
Revises: 2f17c67090cb
Create Date: 2026-12-18 09:00:00

Kilos of different products are never added (5 kg of cherry make about 1 kg of dry
parchment), so the season report reads a claim's, a certificate's and the unclaimed kilos
by product. `season_volume` kept those slices by claim type or certificate only, and the
report read the season's deliveries with their claims for them: 0.5 s of a 1.3 s report
at 100,000 deliveries (docs/scaling.md). Every slice is now kept by `product` too (part
of the key). The rows are derived, so the upgrade recreates the table and recomputes
every cooperative's rows with the service's own statements; the downgrade adds the
products' rows back up (each delivery has one product, so the sums are exact).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "f9930dd15da6"
down_revision: str | None = "2f17c67090cb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = "deliveries, net_g, amount_minor, premium_minor"


def _create(with_product: bool) -> None:
    key = ["cooperative_id", "season", "kind", "key", "family_id"]
    product = [sa.Column("product", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False)]
    op.create_table(
        "season_volume",
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        *(product if with_product else []),
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
            *(key[:4] + ["product"] + key[4:] if with_product else key),
            name=op.f("pk_season_volume"),
        ),
    )
    op.create_index("ix_season_volume_family", "season_volume", ["family_id"], unique=False)


def _drop() -> None:
    op.drop_index("ix_season_volume_family", table_name="season_volume")
    op.drop_table("season_volume")


def upgrade() -> None:
    _drop()
    _create(with_product=True)
    if context.is_offline_mode():
        return
    from tracker.services import season_volumes

    season_volumes.refresh_every_cooperative(op.get_bind())


def downgrade() -> None:
    op.execute(
        "CREATE TEMPORARY TABLE season_volume_summed AS "
        "SELECT cooperative_id, season, kind, key, family_id, "
        "sum(deliveries) AS deliveries, sum(net_g) AS net_g, "
        "sum(amount_minor) AS amount_minor, sum(premium_minor) AS premium_minor "
        "FROM season_volume GROUP BY cooperative_id, season, kind, key, family_id"
    )
    _drop()
    _create(with_product=False)
    op.execute(
        f"INSERT INTO season_volume (cooperative_id, season, kind, key, family_id, {SUMS}) "
        f"SELECT cooperative_id, season, kind, key, family_id, {SUMS} FROM season_volume_summed"
    )
    op.execute("DROP TABLE season_volume_summed")
    if op.get_bind().dialect.name == "postgresql":
        # Check the rows' deferred foreign keys now: PostgreSQL refuses to drop a table
        # with pending trigger events, and an older revision's downgrade, in this same
        # transaction, drops this one. Then deferred again, as they were.
        keys = "fk_season_volume_cooperative_id_cooperative, fk_season_volume_family_id_family"
        op.execute(f"SET CONSTRAINTS {keys} IMMEDIATE")
        op.execute(f"SET CONSTRAINTS {keys} DEFERRED")
