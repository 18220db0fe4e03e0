"""GS1: a GTIN belongs to one cooperative; a lot opens by its Digital Link once published

Revision ID: a1b7c3d9e2f4
Revises: 3ad77c6a6c25
Create Date: 2026-12-04 07:26:24.123266

- `gtin_owner` records the one cooperative each GTIN belongs to (unique GTIN), filled
  from today's products and live lots; `product.gtin` becomes unique across cooperatives.
- A GTIN already used by two cooperatives is a conflict this migration will not settle
  by itself: it stops and lists them. Name each GTIN's owner in TRACKER_GTIN_OWNERS
  (`07750000000014=CAZ,07750000000038=CHU`) and run it again: the other cooperatives'
  products and lots lose that GTIN (their lots keep opening by their token link), and
  every change is printed.
- `lot.published_at`: lots in a live shipment are published as of their first shipment.
  Lots whose labels were printed before this revision are not known: a manager publishes
  them from the lot page (see docs/standards.md).

Plain ALTER TABLE / CREATE INDEX on both databases, as in 3ad77c6a6c25: no batch copy of
`lot`, which other tables refer to.
"""

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import click
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a1b7c3d9e2f4"
down_revision: str | None = "e5a1c0d3b7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNERS_ENV = "TRACKER_GTIN_OWNERS"

# Every (cooperative, GTIN) in use: products, and lots not voided.
_USES = """
    SELECT p.gtin AS gtin, c.id AS cooperative_id, c.code AS code, 'product' AS kind
      FROM product p JOIN cooperative c ON c.id = p.cooperative_id
     WHERE p.gtin IS NOT NULL AND p.gtin <> ''
    UNION ALL
    SELECT l.gtin, c.id, c.code, 'lot'
      FROM lot l JOIN cooperative c ON c.id = l.cooperative_id
     WHERE l.gtin IS NOT NULL AND l.gtin <> '' AND l.voided_at IS NULL
"""


def _chosen_owners() -> dict[str, str]:
    """GTIN -> cooperative code, from TRACKER_GTIN_OWNERS (`gtin=CODE,...`)."""
    chosen: dict[str, str] = {}
    for item in os.environ.get(OWNERS_ENV, "").split(","):
        if "=" in item:
            gtin, code = (part.strip() for part in item.split("=", 1))
            chosen[gtin] = code
    return chosen


def _owners(connection: sa.Connection) -> dict[str, object]:
    """GTIN -> owning cooperative id; settles conflicts named in TRACKER_GTIN_OWNERS and
    stops, listing them, on any other."""
    uses: dict[str, dict[object, dict[str, object]]] = {}
    for gtin, coop_id, code, kind in connection.execute(sa.text(_USES)):
        entry = uses.setdefault(gtin, {}).setdefault(
            coop_id, {"code": code, "product": 0, "lot": 0}
        )
        entry[kind] = int(entry[kind]) + 1  # type: ignore[call-overload]
    chosen = _chosen_owners()
    owners: dict[str, object] = {}
    unsettled: list[str] = []
    for gtin, users in sorted(uses.items()):
        if len(users) == 1:
            owners[gtin] = next(iter(users))
            continue
        named = [cid for cid, e in users.items() if e["code"] == chosen.get(gtin)]
        listing = ", ".join(
            f"{e['code']} ({e['product']} product, {e['lot']} lots)"
            for e in sorted(users.values(), key=lambda e: str(e["code"]))
        )
        if not named:
            unsettled.append(f"  GTIN {gtin} is used by {listing}")
            continue
        owner = owners[gtin] = named[0]
        for cid, e in users.items():
            if cid != owner:
                click.echo(
                    f"GTIN {gtin} belongs to {chosen[gtin]}: removed from {e['code']}'s "
                    f"{e['product']} product and {e['lot']} lots",
                    err=True,
                )
        params = {"gtin": gtin, "owner": owner}
        connection.execute(
            sa.text(
                "UPDATE product SET gtin = NULL WHERE gtin = :gtin AND cooperative_id <> :owner"
            ),
            params,
        )
        connection.execute(
            sa.text("UPDATE lot SET gtin = NULL WHERE gtin = :gtin AND cooperative_id <> :owner"),
            params,
        )
    if unsettled:
        raise click.ClickException(
            "A GTIN belongs to one cooperative, but these are used by several:\n"
            + "\n".join(unsettled)
            + f"\nName each one's owner and run the upgrade again, e.g.\n  {OWNERS_ENV}="
            + ",".join(f"{line.split()[1]}=CODE" for line in unsettled)
            + " tracker init\nThe other cooperatives' products and lots lose that GTIN; "
            "their lots keep opening by their token link. Nothing was changed."
        )
    return owners


def upgrade() -> None:
    op.create_table(
        "gtin_owner",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("gtin", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_gtin_owner_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gtin_owner")),
        sa.UniqueConstraint("gtin", name=op.f("uq_gtin_owner_gtin")),
    )
    op.create_index(
        op.f("ix_gtin_owner_cooperative_id"), "gtin_owner", ["cooperative_id"], unique=False
    )
    op.add_column(
        "lot", sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    connection = op.get_bind()
    owners = _owners(connection)
    table = sa.table(
        "gtin_owner",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("gtin", sa.String()),
    )
    now = datetime.now(UTC)
    if owners:
        op.bulk_insert(
            table,
            [
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "cooperative_id": uuid.UUID(str(owner)),
                    "gtin": gtin,
                }
                for gtin, owner in owners.items()
            ],
        )
    op.create_index("ix_product_gtin", "product", ["gtin"], unique=True)
    # Shipped lots were handed over with their labels: published as of the first shipment.
    connection.execute(
        sa.text(
            """
            UPDATE lot SET published_at = (
                SELECT MIN(s.created_at) FROM shipment_lot sl
                  JOIN shipment s ON s.id = sl.shipment_id
                 WHERE sl.lot_id = lot.id AND s.voided_at IS NULL)
             WHERE published_at IS NULL AND EXISTS (
                SELECT 1 FROM shipment_lot sl JOIN shipment s ON s.id = sl.shipment_id
                 WHERE sl.lot_id = lot.id AND s.voided_at IS NULL)
            """
        )
    )


def downgrade() -> None:
    op.drop_index("ix_product_gtin", table_name="product")
    op.drop_column("lot", "published_at")
    op.drop_index(op.f("ix_gtin_owner_cooperative_id"), table_name="gtin_owner")
    op.drop_table("gtin_owner")
