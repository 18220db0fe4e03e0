"""audit log proves records: rows of bulk inserts, a record's history by id, legacy chains

Revision ID: d4e7b2a91c3f
Revises: 3ad77c6a6c25
Create Date: 2026-12-04 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import op

revision: str = "d4e7b2a91c3f"
down_revision: str | None = "b2c4f81a9d03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE / CREATE INDEX on both databases (no batch copy of audit tables).


def upgrade() -> None:
    op.create_table(
        "audit_row",
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("chain", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_id", "chain", "seq", name=op.f("pk_audit_row")),
    )
    op.create_index(
        "ix_audit_entry_entity_entity_id_seq",
        "audit_entry",
        ["entity", "entity_id", "seq"],
        unique=False,
    )
    op.add_column(
        "audit_head",
        sa.Column("legacy_seq", sa.Integer(), server_default="0", nullable=False),
    )
    # Every chain written so far predates record proofs: `tracker audit baseline` (run
    # by `tracker init`) adopts its records as they are now.
    op.execute("UPDATE audit_head SET legacy_seq = seq")


def downgrade() -> None:
    op.drop_column("audit_head", "legacy_seq")
    op.drop_index("ix_audit_entry_entity_entity_id_seq", table_name="audit_entry")
    op.drop_table("audit_row")
