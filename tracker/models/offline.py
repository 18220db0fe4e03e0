"""The collection centre offline: enrolled devices, their receipt-number blocks, the numbers
they gave back or voided, and the day's prices a device carries with it.

A device is like a paper receipt book (talonario): while online it is issued a block of
the centre's receipt numbers, taken from the centre's gapless counter; offline, it prints
those numbers on the receipts it hands out; when the deliveries sync, each is stored under
the very number printed on its paper. Numbers never used are returned or voided with a
reason, one row per number, so every number of a centre is accounted for.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel
from .enums import Form, in_vocabulary


class Device(TenantModel, table=True):
    """A phone or tablet enrolled for intake at one collection centre; only the SHA-256 of
    its bearer token is stored. Its token may do nothing but the device's own intake."""

    __tablename__ = "device"

    centre_id: uuid.UUID = Field(foreign_key="collection_centre.id", index=True)
    # Who enrolled it: the deliveries it syncs are recorded in their name.
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    revoke_reason: str | None = Field(default=None, max_length=500)


class ReceiptBlock(TenantModel, table=True):
    """Receipt numbers first_seq..last_seq of a centre, issued to one device."""

    __tablename__ = "receipt_block"
    __table_args__ = (
        UniqueConstraint("centre_id", "first_seq"),
        CheckConstraint("first_seq >= 1 AND last_seq >= first_seq", name="range"),
    )

    centre_id: uuid.UUID = Field(foreign_key="collection_centre.id")
    device_id: uuid.UUID = Field(foreign_key="device.id", index=True)
    first_seq: int
    last_seq: int
    issued_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    # Set once every number of the block is on a delivery, returned or voided.
    closed_at: datetime | None = None


class BlockTakeover(TenantModel, table=True):
    """A block moved from a device that no longer works to the one enrolled on the phone
    now, so what the old one printed and never synced is stored under its numbers, in
    the name of the person who enrolled the device the block was issued to."""

    __tablename__ = "block_takeover"

    block_id: uuid.UUID = Field(foreign_key="receipt_block.id", index=True)
    from_device_id: uuid.UUID = Field(foreign_key="device.id")
    to_device_id: uuid.UUID = Field(foreign_key="device.id")
    user_id: uuid.UUID = Field(foreign_key="user_account.id")


class UnusedKind(StrEnum):
    RETURNED = "returned"  # handed back unused by the device
    VOIDED = "voided"  # will never be used: a discarded receipt, a lost device


class UnusedReceipt(TenantModel, table=True):
    """One number of a block that will never be on a delivery, and why; or, when a
    manager voided it and the device then synced a delivery printed under it, the moment
    it was reclaimed (the void is kept: the number is on that delivery now)."""

    __tablename__ = "unused_receipt"
    __table_args__ = (
        UniqueConstraint("centre_id", "seq"),
        in_vocabulary("kind", UnusedKind),
    )

    centre_id: uuid.UUID = Field(foreign_key="collection_centre.id")
    block_id: uuid.UUID = Field(foreign_key="receipt_block.id", index=True)
    seq: int
    kind: str = Field(max_length=10)
    reason: str = Field(max_length=500)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    device_id: uuid.UUID | None = Field(default=None, foreign_key="device.id")
    reclaimed_at: datetime | None = None


class DayPrice(TenantModel, table=True):
    """The price a centre pays per kg of a product form, from a day until a later one is set."""

    __tablename__ = "day_price"
    __table_args__ = (
        UniqueConstraint("centre_id", "form", "day"),
        in_vocabulary("form", Form),
        CheckConstraint("price_per_kg_minor > 0 AND premium_per_kg_minor >= 0", name="price"),
        Index("ix_day_price_centre_id_day", "centre_id", "day"),
    )

    centre_id: uuid.UUID = Field(foreign_key="collection_centre.id")
    form: str = Field(max_length=20)
    day: date
    price_per_kg_minor: int
    premium_per_kg_minor: int = 0
    set_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
