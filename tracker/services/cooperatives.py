"""Cooperatives (tenants), their places and their seasons."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import CollectionCentre, Community, Cooperative, ProcessingSite
from ..models.enums import SiteKind
from .errors import Conflict, ValidationFailed

# Re-exported: many services bump the version through this module.
from .public_version import bump_public_version as bump_public_version

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def create_cooperative(
    session: Session,
    *,
    code: str,
    name: str,
    country: str = "PE",
    currency: str = "PEN",
    season_start_month: int = 4,
) -> Cooperative:
    """Add a tenant with its audit chain, a first collection centre and SPEC.md's
    conversion factors."""
    code = (code or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not CODE_RE.match(code):
        errors["code"] = [_l("Use 2 to 20 capital letters, digits or dashes.")]
    if not (name or "").strip() or len(name) > 200:
        errors["name"] = [_l("Give a name of at most 200 characters.")]
    if not COUNTRY_RE.match(country or ""):
        errors["country"] = [_l("Use a two-letter ISO country code, e.g. PE.")]
    if not CURRENCY_RE.match(currency or ""):
        errors["currency"] = [_l("Use a three-letter ISO currency code, e.g. PEN.")]
    if not 1 <= int(season_start_month) <= 12:
        errors["season_start_month"] = [_l("Choose a month from 1 to 12.")]
    if errors:
        raise ValidationFailed(errors)
    if session.exec(select(Cooperative).where(Cooperative.code == code)).first():
        raise Conflict(_l("A cooperative with this code already exists."), field="code")
    coop = Cooperative(
        code=code,
        name=name.strip(),
        country=country,
        currency=currency,
        season_start_month=season_start_month,
    )
    session.add(coop)
    session.flush()
    add_collection_centre(session, coop, code="C01", name="Centro de acopio principal")
    from . import conversions

    conversions.seed(session, coop)
    return coop


def add_community(
    session: Session,
    coop: Cooperative,
    *,
    name: str,
    district: str = "",
    province: str = "",
    region: str = "",
) -> Community:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed({"name": [_l("Give a name of at most 120 characters.")]})
    existing = session.exec(
        select(Community).where(Community.cooperative_id == coop.id, Community.name == name)
    ).first()
    if existing:
        raise Conflict(_l("A community with this name already exists."), field="name")
    community = Community(
        cooperative_id=coop.id,
        name=name,
        district=district.strip()[:120],
        province=province.strip()[:120],
        region=region.strip()[:120],
    )
    session.add(community)
    session.flush()
    return community


def add_collection_centre(
    session: Session, coop: Cooperative, *, code: str, name: str
) -> CollectionCentre:
    centre = CollectionCentre(cooperative_id=coop.id, code=code, name=name)
    session.add(centre)
    session.flush()
    return centre


def add_processing_site(
    session: Session, coop: Cooperative, *, code: str, name: str, kind: str
) -> ProcessingSite:
    if kind not in set(SiteKind):
        raise ValidationFailed({"kind": [_l("Unknown kind of site.")]})
    site = ProcessingSite(cooperative_id=coop.id, code=code, name=name, kind=kind)
    session.add(site)
    session.flush()
    return site


def season_of(coop: Cooperative, day: date) -> int:
    """The season a date belongs to, named by the year it starts in."""
    return day.year if day.month >= coop.season_start_month else day.year - 1


def season_bounds(coop: Cooperative, season: int) -> tuple[date, date]:
    """First and last day of a season."""
    start = date(season, coop.season_start_month, 1)
    if coop.season_start_month == 1:
        end = date(season, 12, 31)
    else:
        end = date(season + 1, coop.season_start_month, 1).fromordinal(
            date(season + 1, coop.season_start_month, 1).toordinal() - 1
        )
    return start, end
