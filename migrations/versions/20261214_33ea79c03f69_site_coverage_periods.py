"""site_coverage: one row per period a site is listed

Revision ID: 33ea79c03f69
Revises: d6f0b2c8e4a7
Create Date: 2026-12-12 09:00:00

A site certificate (kosher) kept one row per certificate and site, so listing a mill
again for a new period rewrote the dates of the old one, and lots processed in the old
period lost their claim. A period is now a row of its own, named by its start: listing
the same start again changes its end, a new start adds a period and the old stays.
Existing rows are one period each.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "33ea79c03f69"
down_revision: str | None = "d6f0b2c8e4a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("site_coverage", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_site_coverage_certificate_id_site_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_site_coverage_certificate_id_site_id_since"),
            ["certificate_id", "site_id", "since"],
        )


def downgrade() -> None:
    # The old schema holds one period per certificate and site: going back would drop
    # the earlier periods, and with them the claims of lots processed then.
    repeated = op.get_bind().execute(
        sa.text(
            "SELECT COUNT(*) FROM (SELECT certificate_id, site_id FROM site_coverage "
            "GROUP BY certificate_id, site_id HAVING COUNT(*) > 1) AS repeated"
        )
    )
    if repeated.scalar_one():
        raise RuntimeError(
            "site_coverage lists a site for more than one period under one certificate; "
            "the schema before 33ea79c03f69 cannot hold that history."
        )
    with op.batch_alter_table("site_coverage", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_site_coverage_certificate_id_site_id_since"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_site_coverage_certificate_id_site_id"), ["certificate_id", "site_id"]
        )
