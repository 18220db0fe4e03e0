"""Payments to families and the premiums the cooperative pays on claimed volume."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint
from sqlmodel import Field

from .base import TenantModel, VoidableModel
from .enums import PaymentKind, PaymentMethod, check_in


class Payment(VoidableModel, table=True):
    """Money paid to a family: an advance, the final payment or a premium."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(check_in("kind", PaymentKind), name="kind"),
        CheckConstraint(check_in("method", PaymentMethod), name="method"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    family_id: uuid.UUID = Field(foreign_key="family.id", index=True)
    kind: str = Field(max_length=10)
    method: str = Field(max_length=15)
    paid_on: date
    season: int
    amount_minor: int
    reference: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class PaymentAllocation(TenantModel, table=True):
    """The part of a payment that settles one delivery."""

    __tablename__ = "payment_allocation"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True)
    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", index=True)
    amount_minor: int


class PremiumRule(TenantModel, table=True):
    """A premium per kg paid on deliveries that carry a claim (or from woman-led families)."""

    __tablename__ = "premium_rule"
    __table_args__ = (CheckConstraint("per_kg_minor > 0", name="rate_positive"),)

    name: str = Field(max_length=120)
    season: int
    claim_type: str | None = Field(default=None, max_length=40)
    woman_led_only: bool = False
    crop: str | None = Field(default=None, max_length=10)
    per_kg_minor: int
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
