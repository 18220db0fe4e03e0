"""documents in the database: file_content holds every stored file's bytes

Revision ID: c7d0c5e1b8a4
Revises: f7a1c0ffee01
Create Date: 2026-12-06 09:00:00

Uploaded files lived under TRACKER_DATA_DIR/files/<2>/<sha256>.bin, on one host's disk.
Their bytes now live in `file_content`, one row per cooperative and SHA-256, so every app
host serves every document and one database backup holds them. The upgrade copies each
stored_file's bytes from the data directory (the app's DATA_DIR when run by `tracker
init`, else TRACKER_DATA_DIR, else the instance's data folder). It is idempotent: a file
already copied is skipped. A file missing or damaged on disk is reported on stderr and
skipped; the document then answers "missing" as it did before, and running the upgrade
step again after putting the file back (or uploading it again) fills it in. The files
on disk are left where they are (nothing is deleted); remove them once a backup holds
the database.
"""

import hashlib
import os
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import context, op

revision: str = "c7d0c5e1b8a4"
down_revision: str | None = "f7a1c0ffee01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _data_dir() -> Path:
    configured = context.config.attributes.get("data_dir")
    if configured:
        return Path(configured)
    try:
        from flask import current_app, has_app_context

        if has_app_context():
            return Path(current_app.config["DATA_DIR"])
    except ImportError:  # pragma: no cover - flask is a dependency
        pass
    if os.environ.get("TRACKER_DATA_DIR"):
        return Path(os.environ["TRACKER_DATA_DIR"])
    from tracker import ROOT

    instance = os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance")
    return Path(instance) / "data"


def copy_files(connection: sa.Connection, data_dir: Path) -> tuple[int, list[str]]:
    """Copy into file_content the bytes of every stored_file not there yet. Returns how
    many were copied and one line per file that could not be (missing or damaged)."""
    stored = sa.table(
        "stored_file",
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("sha256", sa.String),
        sa.column("size_bytes", sa.Integer),
    )
    content = sa.table(
        "file_content",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("cooperative_id", sa.Uuid()),
        sa.column("sha256", sa.String),
        sa.column("size_bytes", sa.Integer),
        sa.column("data", sa.LargeBinary),
    )
    have = {
        (str(coop), sha)
        for coop, sha in connection.execute(sa.select(content.c.cooperative_id, content.c.sha256))
    }
    rows = connection.execute(
        sa.select(stored.c.cooperative_id, stored.c.sha256)
        .distinct()
        .order_by(stored.c.cooperative_id, stored.c.sha256)
    ).all()
    copied, problems = 0, []
    for coop, sha in rows:
        if (str(coop), sha) in have:
            continue
        if not re.fullmatch(r"[0-9a-f]{64}", sha or ""):
            problems.append(f"stored file {sha!r}: not a SHA-256, skipped")
            continue
        path = data_dir / "files" / sha[:2] / f"{sha}.bin"
        try:
            data = path.read_bytes()
        except OSError:
            problems.append(f"stored file {sha}: missing at {path}, skipped")
            continue
        if not data or hashlib.sha256(data).hexdigest() != sha:
            problems.append(f"stored file {sha}: damaged at {path} (digest differs), skipped")
            continue
        connection.execute(
            sa.insert(content).values(
                id=uuid.uuid4(),
                created_at=datetime.now(UTC),
                cooperative_id=coop if isinstance(coop, uuid.UUID) else uuid.UUID(str(coop)),
                sha256=sha,
                size_bytes=len(data),
                data=data,
            )
        )
        have.add((str(coop), sha))
        copied += 1
    return copied, problems


def upgrade() -> None:
    op.create_table(
        "file_content",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_file_content_size")),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_file_content_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_content")),
        sa.UniqueConstraint(
            "cooperative_id", "sha256", name=op.f("uq_file_content_cooperative_id_sha256")
        ),
    )
    op.create_index(
        op.f("ix_file_content_cooperative_id"), "file_content", ["cooperative_id"], unique=False
    )
    if context.is_offline_mode():
        return
    data_dir = _data_dir()
    copied, problems = copy_files(op.get_bind(), data_dir)
    for line in problems:
        print(f"tracker migration: {line}", file=sys.stderr)
    if copied or problems:
        print(
            f"tracker migration: {copied} document file(s) copied from {data_dir} into the "
            f"database, {len(problems)} not found or damaged",
            file=sys.stderr,
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_file_content_cooperative_id"), table_name="file_content")
    op.drop_table("file_content")
