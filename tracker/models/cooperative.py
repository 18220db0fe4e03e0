"""The tenant and who belongs to it: cooperatives, users, memberships, places, products."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field

from .base import IdModel, TenantModel
from .enums import Crop, Form, Role, SiteKind, in_vocabulary


class Cooperative(IdModel, table=True):
    """A tenant: every other record belongs to exactly one."""

    __tablename__ = "cooperative"
    __table_args__ = (
        CheckConstraint("season_start_month BETWEEN 1 AND 12", name="season_month"),
        CheckConstraint("cap_tolerance_pct BETWEEN 100 AND 300", name="cap_tolerance"),
    )

    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200)
    country: str = Field(default="PE", max_length=2)
    currency: str = Field(default="PEN", max_length=3)
    season_start_month: int = Field(default=4)
    # Rule 4: a family's claimed volume may not exceed area x yield x this tolerance.
    cap_tolerance_pct: int = Field(default=120)
    # The protected area's boundary (GeoJSON), loaded by a manager.
    protected_area_geojson: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Bumped whenever a fact shown on a public page may have changed: the cache key.
    public_version: int = Field(default=0)


class User(IdModel, table=True):
    """A person who logs in; roles come from memberships (or the admin flag)."""

    __tablename__ = "user_account"

    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    is_admin: bool = Field(default=False)
    active: bool = Field(default=True)
    locale: str | None = Field(default=None, max_length=5)
    # Names the user in login sessions; rotated on logout and password change, which
    # ends every session (tracker.services.users.end_sessions).
    session_token: str = Field(max_length=64)
    last_login_at: datetime | None = None
    # Set with a temporary password given by an administrator: until the user chooses
    # their own, pages lead to the password form and the API issues no token.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Membership(TenantModel, table=True):
    """A user's role in one cooperative; a clerk may be placed at one collection centre."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "cooperative_id"),
        in_vocabulary("role", Role),
    )

    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    role: str = Field(max_length=10)
    collection_centre_id: uuid.UUID | None = Field(default=None, foreign_key="collection_centre.id")


class ApiToken(IdModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    expires_at: datetime
    revoked_at: datetime | None = None


class Community(TenantModel, table=True):
    """A village (caserío)."""

    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("cooperative_id", "name"),)

    name: str = Field(max_length=120)
    district: str = Field(default="", max_length=120)
    province: str = Field(default="", max_length=120)
    region: str = Field(default="", max_length=120)


class CollectionCentre(TenantModel, table=True):
    """Where clerks weigh deliveries; receipt numbers run per centre without gaps."""

    __tablename__ = "collection_centre"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "code"),
        CheckConstraint("last_receipt_seq >= 0", name="receipt_seq"),
    )

    code: str = Field(max_length=10)
    name: str = Field(max_length=120)
    community_id: uuid.UUID | None = Field(default=None, foreign_key="community.id")
    last_receipt_seq: int = Field(default=0)


class ProcessingSite(TenantModel, table=True):
    """A drying yard, fermentation shed, dry mill or roastery; kosher covers these."""

    __tablename__ = "processing_site"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "code"),
        in_vocabulary("kind", SiteKind),
    )

    code: str = Field(max_length=10)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)


class Product(TenantModel, table=True):
    """A product form the cooperative sells, with its GTIN when it has one."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "crop", "form"),
        UniqueConstraint("cooperative_id", "gtin"),
        # A GTIN names one product of one cooperative (see GtinOwner).
        Index("ix_product_gtin", "gtin", unique=True),
        in_vocabulary("crop", Crop),
        in_vocabulary("form", Form),
    )

    crop: str = Field(max_length=10)
    form: str = Field(max_length=20)
    name: str = Field(max_length=120)
    gtin: str | None = Field(default=None, max_length=14)


class GtinOwner(TenantModel, table=True):
    """The one cooperative a GTIN belongs to, from the first time it used it.

    Kept when the product's GTIN changes later: lots and printed labels still carry it.
    The resolver `/01/{gtin}/10/{lot}` only opens lots of this cooperative.
    """

    __tablename__ = "gtin_owner"

    gtin: str = Field(max_length=14, unique=True)
