"""What payments and premium rules share, below both: the cooperative's today, a season
number checked and its deliveries' filter, ids in chunks a query can take, the claims a
premium can follow, the rate limit, receipt codes and amounts as text."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_
from sqlmodel import Session, col, select

from ..models import (
    CertificateKind,
    Cooperative,
    Delivery,
    Payment,
)
from ..models.enums import FAMILY_COVERAGE_TYPES
from .bulk import chunks
from .cooperatives import season_bounds, season_of
from .errors import ValidationFailed
from .vocabulary import local_today

MAX_RATE_MINOR = 100_000  # a premium of at most 1,000 per kg


def today() -> date:
    """The cooperative's date, so an evening payment is not dated tomorrow."""
    return local_today()


def receipt_code(payment: Payment) -> str:
    """A short reference printed on the receipt (the id's first 8 hex digits)."""
    return f"P-{payment.id.hex[:8].upper()}"


def check_season(coop: Cooperative, season: object, field_name: str = "season") -> int:
    """A season number the cooperative can have: 2000 up to next season."""
    try:
        value = int(str(season).strip())
    except (TypeError, ValueError):
        value = -1
    latest = season_of(coop, today()) + 1
    if not 2000 <= value <= latest:
        raise ValidationFailed(
            {field_name: [str(_l("Choose a season from 2000 to %(last)s.", last=latest))]}
        )
    return value


def season_filter(coop: Cooperative, season: int):
    start, end = season_bounds(coop, season)
    return and_(
        col(Delivery.cooperative_id) == coop.id,
        col(Delivery.voided_at).is_(None),
        col(Delivery.delivered_on) >= start,
        col(Delivery.delivered_on) <= end,
    )


def claim_types(session: Session, coop: Cooperative) -> list[str]:
    """Claims a delivery can carry: the family-coverage certificate types, built in or added."""
    extra = session.exec(
        select(col(CertificateKind.code)).where(
            col(CertificateKind.cooperative_id) == coop.id,
            col(CertificateKind.covers) == "families",
        )
    ).all()
    return sorted({str(t) for t in FAMILY_COVERAGE_TYPES} | set(extra))


def by_families(query, family_ids: Sequence[uuid.UUID] | None):
    if family_ids is None:
        yield query
        return
    for chunk in chunks(list(family_ids)):
        yield query.where(col(Delivery.family_id).in_(chunk))
