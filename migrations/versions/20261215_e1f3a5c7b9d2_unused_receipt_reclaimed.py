"""unused_receipt.reclaimed_at and block_takeover: a phone's printed deliveries are kept

Revision ID: e1f3a5c7b9d2
Revises: 33ea79c03f69
Create Date: 2026-12-15 12:00:00

A manager voids a block's numbers when a phone is reported lost, or revokes the phone;
a clerk who leaves is deactivated. If the phone still held deliveries it printed and
never synced, the families hold paper receipts the server refused for good.

- A delivery printed under a number a manager voided is now stored under it; the void
  is kept, marked with the moment the number was reclaimed. Existing rows were never
  reclaimed: the column starts empty.
- `block_takeover` records a block moved from a device that no longer works to the one
  enrolled on the phone now (who moved it, from and to which device); its deliveries are
  stored in the name of the person the block was issued to. New table, empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e1f3a5c7b9d2"
down_revision: str | None = "33ea79c03f69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_block_takeover_{column}_{target}"),
        initially="DEFERRED",
        deferrable=True,
    )


def upgrade() -> None:
    with op.batch_alter_table("unused_receipt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reclaimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "block_takeover",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("block_id", sa.Uuid(), nullable=False),
        sa.Column("from_device_id", sa.Uuid(), nullable=False),
        sa.Column("to_device_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        _fk("block_id", "receipt_block"),
        _fk("cooperative_id", "cooperative"),
        _fk("from_device_id", "device"),
        _fk("to_device_id", "device"),
        _fk("user_id", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_takeover")),
    )
    with op.batch_alter_table("block_takeover", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_block_takeover_block_id"), ["block_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_block_takeover_cooperative_id"), ["cooperative_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("block_takeover")
    with op.batch_alter_table("unused_receipt", schema=None) as batch_op:
        batch_op.drop_column("reclaimed_at")
