"""The mass-balance ledger: certified kilograms in, claimed kilograms out, per certificate."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint
from sqlmodel import Field

from .base import VoidableModel


class MassBalanceDebit(VoidableModel, table=True):
    """Credit spent to give a lot a mass-balance claim. Credits are the certified deliveries."""

    __tablename__ = "mass_balance_debit"
    __table_args__ = (CheckConstraint("grams > 0", name="grams_positive"),)

    certificate_id: uuid.UUID = Field(foreign_key="certificate.id", index=True)
    lot_id: uuid.UUID = Field(foreign_key="lot.id", index=True)
    grams: int
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
