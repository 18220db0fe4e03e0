"""Shipments of lots to buyers."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel, VoidableModel


class Shipment(VoidableModel, table=True):
    """Lots sold to a buyer."""

    __tablename__ = "shipment"

    buyer_name: str = Field(max_length=200)
    buyer_country: str = Field(max_length=2)
    contract: str = Field(default="", max_length=100)
    shipped_on: date
    container: str = Field(default="", max_length=40)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class ShipmentLot(TenantModel, table=True):
    """A lot (its whole available weight at the time) in a shipment."""

    __tablename__ = "shipment_lot"
    __table_args__ = (
        UniqueConstraint("shipment_id", "lot_id"),
        CheckConstraint("grams > 0", name="grams_positive"),
    )

    shipment_id: uuid.UUID = Field(foreign_key="shipment.id", index=True)
    lot_id: uuid.UUID = Field(foreign_key="lot.id", index=True)
    grams: int
