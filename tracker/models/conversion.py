"""The conversion factors a cooperative uses between the product forms of a crop."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel, utcnow
from .enums import Crop, Form, in_vocabulary


class ConversionFactor(TenantModel, table=True):
    """Kilograms of `to_form` that one kilogram of `from_form` gives, in millionths.

    One row per step of a crop's chain (cherry -> wet parchment -> dry parchment -> green
    -> roasted; wet beans -> dry beans), seeded with SPEC.md's typical yields when the
    cooperative is created. Mass-balance ledgers and premium rules convert through them.
    """

    __tablename__ = "conversion_factor"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "from_form"),
        in_vocabulary("crop", Crop),
        in_vocabulary("from_form", Form),
        in_vocabulary("to_form", Form),
        CheckConstraint("ppm > 0 AND ppm <= 1000000", name="ppm"),
    )

    crop: str = Field(max_length=10)
    from_form: str = Field(max_length=20)
    to_form: str = Field(max_length=20)
    ppm: int
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
