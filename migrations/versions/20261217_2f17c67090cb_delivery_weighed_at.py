"""delivery.weighed_at: the moment a phone weighed a delivery kept in its outbox

Revision ID: 2f17c67090cb
Revises: f4b8d2a6c0e3
Create Date: 2026-12-17 09:00:00

A delivery weighed offline reached the server hours later and kept only that moment
(`created_at`): its reprint said "14:30" where the family's paper, printed on the phone
at the scale, says "10:05", and one weighed at 23:50 and synced the next morning was
marked recorded on another day. The phone now sends the moment it printed, stored here;
deliveries stored before have none (null) and are shown by `created_at`, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "2f17c67090cb"
down_revision: str | None = "f4b8d2a6c0e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN on both databases: no copy of the table.
    op.add_column(
        "delivery", sa.Column("weighed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("delivery", "weighed_at")
