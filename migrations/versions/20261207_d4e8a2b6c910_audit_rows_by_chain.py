"""audit rows by chain: `audit verify` of one cooperative reads only its own bulk rows

Revision ID: d4e8a2b6c910
Revises: c7d0c5e1b8a4
Create Date: 2026-12-07 09:00:00

`audit verify --chain` (what a cooperative's auditor runs) reads each audited table's
bulk rows of one chain in id order: `WHERE entity = ? AND chain = ? ORDER BY entity_id,
chain, seq`. The primary key (entity, entity_id, chain, seq) does not lead with the chain,
so on a 10 M-delivery federation PostgreSQL read all 27 M rows of `audit_row` (a parallel
sequential scan of 11 GB) once per audited table, for every cooperative verified: the
federation's size, not the cooperative's. This index gives one chain's rows of a table in
the order verify compares them (byte order of the id: COLLATE "C" on PostgreSQL, whose
default collation may differ; SQLite compares bytes already), so nothing is sorted either.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d4e8a2b6c910"
down_revision: str | None = "c7d0c5e1b8a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_audit_row_chain_entity_entity_id_seq"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'CREATE INDEX {NAME} ON audit_row (chain, entity, entity_id COLLATE "C", seq)')
    else:
        op.create_index(NAME, "audit_row", ["chain", "entity", "entity_id", "seq"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="audit_row")
