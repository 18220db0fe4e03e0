"""Lots, the operations that make them, and the edges that make their genealogy."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel, VoidableModel, public_token
from .enums import Crop, Form, LotStatus, OperationKind, Process, check_in, in_vocabulary


class LotOperation(VoidableModel, table=True):
    """Create, merge, split or process: one event of the genealogy, voidable as a whole."""

    __tablename__ = "lot_operation"
    __table_args__ = (
        in_vocabulary("kind", OperationKind),
        CheckConstraint(f"process IS NULL OR {check_in('process', Process)}", name="process"),
        CheckConstraint("input_g > 0 AND output_g > 0 AND loss_g >= 0", name="masses"),
        CheckConstraint("input_g = output_g + loss_g", name="mass_conserved"),
    )

    kind: str = Field(max_length=10)
    process: str | None = Field(default=None, max_length=20)
    site_id: uuid.UUID | None = Field(default=None, foreign_key="processing_site.id")
    occurred_on: date
    input_g: int
    output_g: int
    loss_g: int = 0
    # A yield outside the plausible band was shown to the manager and confirmed.
    yield_confirmed: bool = False
    note: str = Field(default="", max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class Lot(VoidableModel, table=True):
    """A quantity of one product form, with a public token for its QR code."""

    __tablename__ = "lot"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "code"),
        in_vocabulary("crop", Crop),
        in_vocabulary("form", Form),
        in_vocabulary("status", LotStatus),
        CheckConstraint("weight_g > 0", name="weight_positive"),
        CheckConstraint("available_g >= 0 AND available_g <= weight_g", name="available"),
    )

    code: str = Field(max_length=20)
    public_token: str = Field(default_factory=public_token, max_length=40, unique=True)
    crop: str = Field(max_length=10)
    form: str = Field(max_length=20)
    weight_g: int
    available_g: int
    gtin: str | None = Field(default=None, max_length=14)
    status: str = Field(default=LotStatus.OPEN, max_length=10)
    season: int
    operation_id: uuid.UUID = Field(foreign_key="lot_operation.id", index=True)
    site_id: uuid.UUID | None = Field(default=None, foreign_key="processing_site.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # When the cooperative made the lot public: its sack labels were first printed, it
    # was shipped, or a manager published it. Only then does its GS1 Digital Link
    # (`/01/{gtin}/10/{code}`, guessable) open it; its token link works either way.
    published_at: datetime | None = Field(default=None)


class LotInput(TenantModel, table=True):
    """An edge of the genealogy: grams of a delivery or of a source lot that went into a lot."""

    __tablename__ = "lot_input"
    __table_args__ = (
        CheckConstraint(
            "(source_lot_id IS NULL) <> (source_delivery_id IS NULL)", name="one_source"
        ),
        CheckConstraint("grams > 0", name="grams_positive"),
        Index("ix_lot_input_lot_id", "lot_id"),
        Index("ix_lot_input_source_lot_id", "source_lot_id"),
        Index("ix_lot_input_source_delivery_id", "source_delivery_id"),
    )

    operation_id: uuid.UUID = Field(foreign_key="lot_operation.id", index=True)
    lot_id: uuid.UUID = Field(foreign_key="lot.id")
    source_lot_id: uuid.UUID | None = Field(default=None, foreign_key="lot.id")
    source_delivery_id: uuid.UUID | None = Field(default=None, foreign_key="delivery.id")
    grams: int
