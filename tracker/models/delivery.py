"""Deliveries weighed at a collection centre, and what the claims engine derives from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from .base import TenantModel, VoidableModel
from .enums import Crop, DeliveryFlagKind, Form, in_vocabulary

# The heaviest weighing a door accepts (5 t: more than any one weighing at a collection
# centre). The service's rule and the schema's field both read it.
MAX_GROSS_G = 5_000_000


class ImportBatch(TenantModel, table=True):
    """One CSV file imported as one all-or-nothing action.

    The file's digest is the batch's natural key: a cooperative imports a given file of
    a kind once (services/imports.py refuses it again, naming the first import).
    """

    __tablename__ = "import_batch"
    __table_args__ = (
        Index("uq_import_batch_file", "cooperative_id", "kind", "sha256", "repeat_no", unique=True),
    )

    kind: str = Field(max_length=20)
    original_name: str = Field(default="", max_length=255)
    sha256: str = Field(max_length=64)
    rows: int
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # 0 for every import. Files imported again before the digest became the key were
    # numbered 1, 2, ... by migration e5a1c0d3b7f2, so they stay as recorded.
    repeat_no: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Delivery(VoidableModel, table=True):
    """One weighing. Never deleted: a correction voids it and records a new one."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("centre_id", "receipt_seq"),
        in_vocabulary("crop", Crop),
        in_vocabulary("form", Form),
        CheckConstraint("gross_g > 0", name="gross_positive"),
        CheckConstraint("tare_g >= 0", name="tare_nonnegative"),
        CheckConstraint("net_g = gross_g - tare_g AND net_g > 0", name="net"),
        CheckConstraint("lotted_g >= 0 AND lotted_g <= net_g", name="lotted"),
        CheckConstraint(
            "moisture_dpct IS NULL OR moisture_dpct BETWEEN 0 AND 1000", name="moisture"
        ),
        CheckConstraint("price_per_kg_minor >= 0 AND premium_per_kg_minor >= 0", name="price"),
        CheckConstraint("amount_minor >= 0 AND premium_minor >= 0", name="amount"),
        Index("ix_delivery_cooperative_id_delivered_on", "cooperative_id", "delivered_on"),
        Index("ix_delivery_family_id_delivered_on", "family_id", "delivered_on"),
    )

    centre_id: uuid.UUID = Field(foreign_key="collection_centre.id")
    family_id: uuid.UUID = Field(foreign_key="family.id")
    plot_id: uuid.UUID = Field(foreign_key="plot.id", index=True)
    crop: str = Field(max_length=10)
    form: str = Field(max_length=20)
    delivered_on: date
    gross_g: int
    tare_g: int = 0
    net_g: int
    # Grams of this delivery already gathered into lots (never more than net_g).
    lotted_g: int = 0
    # Moisture in tenths of a percent (11.5 % is 115).
    moisture_dpct: int | None = None
    grade: str = Field(default="", max_length=20)
    price_per_kg_minor: int = 0
    premium_per_kg_minor: int = 0
    # The price agreed per quintal, when it was: the amount is worked out from it, not
    # from the rounded price per kg, and a correction proposes it again.
    price_per_quintal_minor: int | None = None
    # "Precio por definir": weighed before the price was known; listed on the payments
    # page until a manager sets it (an audited correction of the price and amount).
    price_pending: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # What the family was paid for this delivery, fixed at the scale.
    amount_minor: int = 0
    premium_minor: int = 0
    receipt_seq: int
    receipt_number: str = Field(max_length=30)
    paper_receipt: str | None = Field(default=None, max_length=30)
    clerk_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # The delivery this one corrects (the original is voided in the same action).
    replaces_id: uuid.UUID | None = Field(default=None, foreign_key="delivery.id")
    import_id: uuid.UUID | None = Field(default=None, foreign_key="import_batch.id")
    # When the clerk's device weighed it and printed its paper receipt (UTC), sent with a
    # delivery kept in a phone's outbox: `created_at` is when it reached the server, hours
    # later after a day offline. None when the door sent none (the form without script,
    # CSV, an API call without it): `created_at` is then when it was recorded.
    # services/delivery_moments.py reads the one a receipt shows.
    weighed_at: datetime | None = None


class DeliveryClaim(SQLModel, table=True):
    """A claim a delivery carries under one certificate: derived by the engine, never typed."""

    __tablename__ = "delivery_claim"
    __table_args__ = (Index("ix_delivery_claim_certificate", "certificate_id"),)

    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", primary_key=True)
    certificate_id: uuid.UUID = Field(foreign_key="certificate.id", primary_key=True)
    cooperative_id: uuid.UUID = Field(foreign_key="cooperative.id", index=True)
    claim_type: str = Field(max_length=40)


class DeliveryFlag(SQLModel, table=True):
    """A delivery the manager must look at (over the volume cap, plot in the protected area)."""

    __tablename__ = "delivery_flag"
    __table_args__ = (in_vocabulary("kind", DeliveryFlagKind),)

    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)
    # For over_cap: the claim type whose cap was exceeded ("" otherwise).
    claim_type: str = Field(default="", max_length=40, primary_key=True)
    cooperative_id: uuid.UUID = Field(foreign_key="cooperative.id", index=True)


class SeasonVolume(SQLModel, table=True):
    """A family's sums in one season, by slice: derived from its deliveries, their claims
    and flags by services/season_volumes.py in the transaction that changes them, and read
    by the season report and the dashboard instead of the season's deliveries.

    `kind` and `key`: "form" (key "crop/form"; its rows are every live delivery once),
    "claim" (a claim type: deliveries carrying it, each once), "none" (deliveries with no
    claim), "cert" (a certificate's id in hex: deliveries claimed under it) and "over_cap"
    (a claim type: deliveries flagged over its volume cap), "pending" (key "crop/form":
    deliveries whose price is still to be set, left out of average prices).
    `amount_minor` and `premium_minor` are summed for "form", "claim" and "none", 0
    otherwise. Every slice is kept by `product` ("crop/form", the key itself for "form"
    and "pending"), since kilos of different products are never added: the season report
    reads a claim's, a certificate's and the unclaimed kilos by product from here.
    """

    __tablename__ = "season_volume"
    __table_args__ = (Index("ix_season_volume_family", "family_id"),)

    cooperative_id: uuid.UUID = Field(foreign_key="cooperative.id", primary_key=True)
    season: int = Field(primary_key=True)
    kind: str = Field(max_length=10, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    product: str = Field(max_length=32, primary_key=True)
    family_id: uuid.UUID = Field(foreign_key="family.id", primary_key=True)
    deliveries: int
    net_g: int = Field(sa_type=BigInteger)
    amount_minor: int = Field(sa_type=BigInteger)
    premium_minor: int = Field(sa_type=BigInteger)
