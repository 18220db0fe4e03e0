"""unused_receipt: a number a manager voided, then found on a synced delivery

Revision ID: e1f3a5c7b9d2
Revises: 33ea79c03f69
Create Date: 2026-12-15 12:00:00

A manager voids a block's numbers when a phone is reported lost; if the phone turns up
holding deliveries it printed but never synced, the families hold paper receipts with
those numbers. Such a delivery is now stored under its printed number, and the void is
kept, marked with the moment the number was reclaimed, instead of refusing the delivery
for good. Existing rows were never reclaimed: the column starts empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e1f3a5c7b9d2"
down_revision: str | None = "33ea79c03f69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unused_receipt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reclaimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("unused_receipt", schema=None) as batch_op:
        batch_op.drop_column("reclaimed_at")
