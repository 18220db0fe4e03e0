"""family: the day a family stopped being a member

Revision ID: b8d4f6a0c3e5
Revises: a7c3e5b9d2f4
Create Date: 2026-12-11 09:00:00

The approved-producers list of a past day left out every family no longer a member
today, so a certifier's list for June dropped a family certified then and gone in
November. `left_on` is set when a family is made inactive; a family inactive already
takes the day of its last change, the closest record there is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8d4f6a0c3e5"
down_revision: str | None = "a7c3e5b9d2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("family", sa.Column("left_on", sa.Date(), nullable=True))
    family = sa.table(
        "family",
        sa.column("active", sa.Boolean()),
        sa.column("left_on", sa.Date()),
        sa.column("updated_at", sa.DateTime()),
    )
    op.execute(
        family.update()
        .where(family.c.active.is_(False))
        .values(left_on=sa.func.date(family.c.updated_at))
    )


def downgrade() -> None:
    op.drop_column("family", "left_on")
