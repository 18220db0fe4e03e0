"""Payments to families and the premiums the cooperative pays on claimed volume."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from .base import TenantModel, VoidableModel
from .enums import PaymentKind, PaymentMethod, in_vocabulary


class Payment(VoidableModel, table=True):
    """Money paid to a family: an advance, the final payment or a premium."""

    __tablename__ = "payment"
    __table_args__ = (
        in_vocabulary("kind", PaymentKind),
        in_vocabulary("method", PaymentMethod),
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


class PremiumRule(VoidableModel, table=True):
    """A season premium on deliveries that carry a claim (or from woman-led families).

    It applies to deliveries of its crop in `forms` and is paid at `rate_minor` per `unit`:
    "lb_green" is per pound of green coffee, "t_dry_beans" per tonne of dry cacao beans,
    "kg_delivered" per kilogram as weighed. A delivery earns it on its equivalent in the
    unit's form, through the cooperative's conversion factors. Never edited: a mistaken
    rule is voided with a reason and a new one added.
    """

    __tablename__ = "premium_rule"
    __table_args__ = (CheckConstraint("rate_minor > 0", name="rate_positive"),)

    name: str = Field(max_length=120)
    season: int
    claim_type: str | None = Field(default=None, max_length=40)
    woman_led_only: bool = False
    crop: str | None = Field(default=None, max_length=10)
    # Delivery forms it applies to, comma-separated ("" only on rules older than forms).
    forms: str = Field(default="", max_length=200)
    unit: str = Field(default="kg_delivered", max_length=20)
    # The cooperative's minor units (céntimos) per unit.
    rate_minor: int
    # Where the rate comes from (e.g. "US$ 0.20/lb at S/ 3.75 per US$").
    note: str = Field(default="", max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class FixedPremium(VoidableModel, table=True):
    """A rule's premium on one delivery, fixed when a payment first settled the delivery.

    Until then the premium follows today's rules, claims and conversion factors; from then
    on this row is what the delivery earned from the rule, whatever changes later. When
    every payment settling the delivery is voided, the row is voided too.
    """

    __tablename__ = "fixed_premium"
    __table_args__ = (
        CheckConstraint("equivalent_g >= 0 AND amount_minor >= 0", name="amounts"),
        Index("ix_fixed_premium_rule_id_delivery_id", "rule_id", "delivery_id"),
    )

    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", index=True)
    rule_id: uuid.UUID = Field(foreign_key="premium_rule.id")
    # The delivery's equivalent in the rule's unit form, in grams, when it was fixed.
    equivalent_g: int
    amount_minor: int
