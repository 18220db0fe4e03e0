"""sanitised certificate documents: the upload's own SHA-256 and what was taken out

Revision ID: e6a1c0d9f2b7
Revises: 3ad77c6a6c25
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import op

revision: str = "e6a1c0d9f2b7"
down_revision: str | None = "3ad77c6a6c25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN on both databases, as the previous revision explains: a batch
# copy of stored_file would drop a table that certificate documents refer to. Files
# stored before have no original digest: they are sanitised when served.


def upgrade() -> None:
    op.add_column(
        "stored_file",
        sa.Column("original_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.add_column(
        "stored_file",
        sa.Column(
            "removed",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            server_default="",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("stored_file", "removed")
    op.drop_column("stored_file", "original_sha256")
