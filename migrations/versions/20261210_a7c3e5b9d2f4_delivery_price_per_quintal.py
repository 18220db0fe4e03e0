"""delivery: the price agreed per quintal, when it was

Revision ID: a7c3e5b9d2f4
Revises: f2c4a6e8b0d1
Create Date: 2026-12-10 09:00:00

A delivery priced per quintal stored only its exact amount and the price per kg rounded
from it, so a correction (which records the delivery again) worked the amount out from
the rounded price and quietly changed what the family earned: S/ 996,38 became S/ 996,00
on a date corrected. The price per quintal is now kept; deliveries stored before keep
none (null), as a delivery priced per kg.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e5b9d2f4"
down_revision: str | None = "f2c4a6e8b0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN on both databases: no copy of the table.
    op.add_column("delivery", sa.Column("price_per_quintal_minor", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("delivery", "price_per_quintal_minor")
