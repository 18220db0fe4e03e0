"""import file key: a cooperative imports a given file of a kind once

Revision ID: e5a1c0d3b7f2
Revises: 3ad77c6a6c25
Create Date: 2026-12-04 10:00:00

The file's digest becomes the import batch's natural key (cooperative, kind, sha256).
Databases made before may already hold a file imported twice (two imports started
together, or a re-import with skip-duplicates): those batches stay as recorded, and the
repeats are numbered 1, 2, ... in `repeat_no` (oldest first) so the unique index holds.
Every import from now on has repeat_no 0, so a file is refused the second time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a1c0d3b7f2"
down_revision = "e6a1c0d9f2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE and CREATE INDEX on both databases: a batch "move and copy" of
# import_batch would drop a table that deliveries refer to (see 3ad77c6a6c25).

# How many imports of the same file came before this one (correlated, so portable).
NUMBER_REPEATS = """
UPDATE import_batch SET repeat_no = (
    SELECT count(*) FROM import_batch AS earlier
    WHERE earlier.cooperative_id = import_batch.cooperative_id
      AND earlier.kind = import_batch.kind
      AND earlier.sha256 = import_batch.sha256
      AND (earlier.created_at < import_batch.created_at
           OR (earlier.created_at = import_batch.created_at AND earlier.id < import_batch.id))
)
"""


def upgrade() -> None:
    op.add_column(
        "import_batch",
        sa.Column("repeat_no", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute(NUMBER_REPEATS)
    op.create_index(
        "uq_import_batch_file",
        "import_batch",
        ["cooperative_id", "kind", "sha256", "repeat_no"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_import_batch_file", table_name="import_batch")
    op.drop_column("import_batch", "repeat_no")
