"""Member families and their plots, with the flags that take claims away."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from .base import TenantModel, utcnow
from .enums import Crop, PlotFlagKind, in_vocabulary


class Family(TenantModel, table=True):
    """A member household. national_id and phone are private to the cooperative."""

    __tablename__ = "family"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "member_code"),
        Index("ix_family_cooperative_id_head_name", "cooperative_id", "head_name"),
    )

    member_code: str = Field(max_length=30)
    head_name: str = Field(max_length=200)
    woman_led: bool = Field(default=False)
    community_id: uuid.UUID = Field(foreign_key="community.id", index=True)
    national_id: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=30)
    public_name_consent: bool = Field(default=False)
    active: bool = Field(default=True)
    # The day it stopped being a member (active false), at the cooperative: a certifier's
    # list of a day before still names it.
    left_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class FamilyAbsence(TenantModel, table=True):
    """A time the family was not a member: from `left_on` until `back_on`, the day it
    rejoined (None while it is away). Its membership on a past day is read here, so a
    family that left and came back is not named on the lists of the months it was gone,
    nor given a weighing dated then."""

    __tablename__ = "family_absence"

    family_id: uuid.UUID = Field(foreign_key="family.id", index=True)
    left_on: date
    back_on: date | None = None


class Plot(TenantModel, table=True):
    """A parcel of one crop; its geolocation is a GeoJSON Point or Polygon (lon/lat, 6 dp)."""

    __tablename__ = "plot"
    __table_args__ = (
        UniqueConstraint("family_id", "name"),
        in_vocabulary("crop", Crop),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("expected_yield_kg_ha >= 0", name="yield_nonnegative"),
        CheckConstraint("altitude_m BETWEEN -100 AND 7000", name="altitude_range"),
    )

    family_id: uuid.UUID = Field(foreign_key="family.id", index=True)
    name: str = Field(max_length=100)
    crop: str = Field(max_length=10)
    # Declared area in square metres (hectares x 10,000): exact, no floating point.
    area_m2: int
    altitude_m: int | None = None
    # Expected yield in kg of the crop's reference form (coffee: dry parchment,
    # cacao: dry beans) per hectare per season.
    expected_yield_kg_ha: int = Field(default=0)
    geometry_geojson: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The geometry's geodesic area (polygons) and a representative point, for maps and checks.
    geodesic_area_m2: int | None = None
    centroid_lon: float | None = None
    centroid_lat: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class PlotFlag(TenantModel, table=True):
    """A problem found on a plot; it stands until a manager resolves it with a reason."""

    __tablename__ = "plot_flag"
    __table_args__ = (in_vocabulary("kind", PlotFlagKind),)

    plot_id: uuid.UUID = Field(foreign_key="plot.id", index=True)
    kind: str = Field(max_length=20)
    detail: str = Field(default="", max_length=500)
    resolved_at: datetime | None = None
    resolved_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    resolution: str | None = Field(default=None, max_length=500)
    # A manager's protected-area resolution holds for the map it was made on: the SHA-256
    # of the plot's geometry and the boundary then (services/plots.py: map_sha256). The
    # same map does not flag the plot again; a new point or boundary does (rule 5).
    resolved_map_sha256: str | None = Field(default=None, max_length=64)
