"""premium rules per product form, conversion factors per cooperative, fixed premiums

- `conversion_factor`: one row per step of a crop's chain per cooperative, seeded here with
  SPEC.md's typical yields for every existing cooperative (new ones get them when created).
- `premium_rule`: `per_kg_minor` becomes `rate_minor`, paid per `unit` ("kg_delivered" for
  the rules that exist: per kg as weighed, as before) on deliveries of `forms` (every form
  of the rule's crop for the existing ones); a `note`; voidable with a reason.
- `fixed_premium`: a rule's premium on a delivery, fixed when a payment settled it.
- Mass-balance ledgers count coffee in green-coffee equivalent instead of dry parchment:
  existing coffee allocations are converted with the default factor (0.8 kg of green per
  kg of dry parchment). Cacao stays in dry beans.

Revision ID: b2c4f81a9d03
Revises: 3ad77c6a6c25
Create Date: 2026-12-05 10:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.* column types)
from alembic import op

revision: str = "b2c4f81a9d03"
down_revision: str | None = "a1b7c3d9e2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The chain steps and SPEC.md's typical yields, as they were when this revision was written
# (tracker/services/conversions.py may change later; a migration must not).
STEPS = [
    ("coffee", "cherry", "wet_parchment", 360_000),
    ("coffee", "wet_parchment", "dry_parchment", 555_556),
    ("coffee", "dry_parchment", "green", 800_000),
    ("coffee", "green", "roasted", 840_000),
    ("cacao", "wet_beans", "dry_beans", 375_000),
]
FORMS = {
    "coffee": "cherry,dry_parchment,green,roasted,wet_parchment",
    "cacao": "dry_beans,wet_beans",
}
ALL_FORMS = "cherry,dry_beans,dry_parchment,green,roasted,wet_beans,wet_parchment"
FORM_CHECK = (
    "IN ('cherry', 'wet_parchment', 'dry_parchment', 'green', 'roasted', 'wet_beans', 'dry_beans')"
)


def upgrade() -> None:
    op.create_table(
        "conversion_factor",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("crop", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("from_form", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("to_form", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("ppm", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("crop IN ('coffee', 'cacao')", name=op.f("ck_conversion_factor_crop")),
        sa.CheckConstraint(f"from_form {FORM_CHECK}", name=op.f("ck_conversion_factor_from_form")),
        sa.CheckConstraint(f"to_form {FORM_CHECK}", name=op.f("ck_conversion_factor_to_form")),
        sa.CheckConstraint("ppm > 0 AND ppm <= 1000000", name=op.f("ck_conversion_factor_ppm")),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_conversion_factor_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_conversion_factor_updated_by_id_user_account"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversion_factor")),
        sa.UniqueConstraint(
            "cooperative_id",
            "from_form",
            name=op.f("uq_conversion_factor_cooperative_id_from_form"),
        ),
    )
    with op.batch_alter_table("conversion_factor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversion_factor_cooperative_id"), ["cooperative_id"], unique=False
        )
    _seed_factors()

    # Rename in place on both databases (SQLite >= 3.25 rewrites the CHECK constraint too):
    # a batch "move and copy" would drop a table that audited rows refer to.
    op.execute("ALTER TABLE premium_rule RENAME COLUMN per_kg_minor TO rate_minor")
    op.add_column(
        "premium_rule",
        sa.Column(
            "forms",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            server_default="",
            nullable=False,
        ),
    )
    op.add_column(
        "premium_rule",
        sa.Column(
            "unit",
            sqlmodel.sql.sqltypes.AutoString(length=20),
            server_default="kg_delivered",
            nullable=False,
        ),
    )
    op.add_column(
        "premium_rule",
        sa.Column(
            "note", sqlmodel.sql.sqltypes.AutoString(length=500), server_default="", nullable=False
        ),
    )
    op.add_column(
        "premium_rule", sa.Column("voided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "premium_rule",
        sa.Column("void_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    )
    op.add_column("premium_rule", sa.Column("voided_by_id", sa.Uuid(), nullable=True))
    # SQLite cannot add a foreign key to a table: batch mode copies premium_rule (nothing
    # refers to it yet) with the constraint; PostgreSQL adds it in place.
    with op.batch_alter_table("premium_rule", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_premium_rule_voided_by_id_user_account"),
            "user_account",
            ["voided_by_id"],
            ["id"],
            initially="DEFERRED",
            deferrable=True,
        )
    rule = sa.table("premium_rule", sa.column("crop", sa.String), sa.column("forms", sa.String))
    for crop, forms in FORMS.items():
        op.execute(rule.update().where(rule.c.crop == crop).values(forms=forms))
    op.execute(rule.update().where(rule.c.crop.is_(None)).values(forms=ALL_FORMS))

    op.create_table(
        "fixed_premium",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("cooperative_id", sa.Uuid(), nullable=False),
        sa.Column("voided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("voided_by_id", sa.Uuid(), nullable=True),
        sa.Column("void_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("equivalent_g", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "equivalent_g >= 0 AND amount_minor >= 0", name=op.f("ck_fixed_premium_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_fixed_premium_cooperative_id_cooperative"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name=op.f("fk_fixed_premium_delivery_id_delivery"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["premium_rule.id"],
            name=op.f("fk_fixed_premium_rule_id_premium_rule"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"],
            ["user_account.id"],
            name=op.f("fk_fixed_premium_voided_by_id_user_account"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixed_premium")),
    )
    with op.batch_alter_table("fixed_premium", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fixed_premium_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fixed_premium_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            "ix_fixed_premium_rule_id_delivery_id", ["rule_id", "delivery_id"], unique=False
        )

    # Coffee ledgers now count green-coffee equivalent: 0.8 kg of green per kg of parchment.
    op.execute(
        "UPDATE mass_balance_debit SET grams = (grams * 4 + 2) / 5 "
        "WHERE lot_id IN (SELECT id FROM lot WHERE crop = 'coffee')"
    )


def _seed_factors() -> None:
    """SPEC.md's typical yields for every cooperative there is."""
    bind = op.get_bind()
    coops = bind.execute(sa.text("SELECT id FROM cooperative")).scalars().all()
    if not coops:
        return
    table = sa.table(
        "conversion_factor",
        sa.column("id", sa.Uuid),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime),
        sa.column("cooperative_id", sa.Uuid),
        sa.column("crop", sa.String),
        sa.column("from_form", sa.String),
        sa.column("to_form", sa.String),
        sa.column("ppm", sa.Integer),
        sa.column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "cooperative_id": coop_id if isinstance(coop_id, uuid.UUID) else uuid.UUID(coop_id),
            "crop": crop,
            "from_form": from_form,
            "to_form": to_form,
            "ppm": ppm,
            "updated_at": now,
        }
        for coop_id in coops
        for crop, from_form, to_form, ppm in STEPS
    ]
    op.bulk_insert(table, rows)


def downgrade() -> None:
    op.execute(
        "UPDATE mass_balance_debit SET grams = (grams * 5 + 2) / 4 "
        "WHERE lot_id IN (SELECT id FROM lot WHERE crop = 'coffee')"
    )
    with op.batch_alter_table("fixed_premium", schema=None) as batch_op:
        batch_op.drop_index("ix_fixed_premium_rule_id_delivery_id")
        batch_op.drop_index(batch_op.f("ix_fixed_premium_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_fixed_premium_cooperative_id"))
    op.drop_table("fixed_premium")
    with op.batch_alter_table("premium_rule", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_premium_rule_voided_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("voided_by_id")
    for column in ("void_reason", "voided_at", "note", "unit", "forms"):
        op.drop_column("premium_rule", column)
    op.execute("ALTER TABLE premium_rule RENAME COLUMN rate_minor TO per_kg_minor")
    with op.batch_alter_table("conversion_factor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversion_factor_cooperative_id"))
    op.drop_table("conversion_factor")
