"""temporary passwords: an administrator's reset makes the user choose a new password

Revision ID: 3ad77c6a6c25
Revises: dc7b62321a09
Create Date: 2026-12-02 20:54:34.229639
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import op

revision: str = "3ad77c6a6c25"
down_revision: str | None = "dc7b62321a09"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN): a batch "move and
# copy" of user_account would drop a table that every audited row refers to, which
# SQLite's foreign keys refuse at commit on a database with data in it.


def upgrade() -> None:
    op.add_column(
        "user_account",
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "must_change_password")
