"""What a manager is warned about: certificates about to lapse or lapsed, and the
deliveries and lots a lapse leaves without their claim."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from ..models import (
    Certificate,
    Cooperative,
    Family,
)
from ..models.enums import CertificateStatus, CoverageStatus
from . import claims
from .certificates import (
    listing,
    standing_of_view,
)
from .claims import CertView
from .cooperatives import season_bounds, season_of
from .coverage_history import (
    in_force,
)


@dataclass
class Lapse:
    family_id: uuid.UUID
    member_code: str
    head_name: str
    type: str
    certificate_id: uuid.UUID
    number: str
    last_day: date


@dataclass
class Alerts:
    """What the manager's dashboard warns about."""

    expiring_30: list[Certificate] = field(default_factory=list)
    expiring_60: list[Certificate] = field(default_factory=list)
    expired: list[Certificate] = field(default_factory=list)
    suspended: list[tuple[Certificate, str, date | None]] = field(default_factory=list)
    lapsed: dict[str, int] = field(default_factory=dict)
    over_cap_families: int = 0
    over_cap_deliveries: int = 0
    protected_deliveries: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.expiring_30
            or self.expiring_60
            or self.expired
            or self.suspended
            or self.lapsed
            or self.over_cap_deliveries
            or self.protected_deliveries
        )


EXPIRED_SHOWN_DAYS = 180


LAPSE_WINDOW_DAYS = 365


def alerts(session: Session, coop: Cooperative, day: date) -> Alerts:
    """Certificates expiring in 30 and 60 days, expired, suspended or withdrawn; families
    whose coverage lapsed; deliveries flagged by the claims engine."""

    from ..models import Delivery, DeliveryFlag
    from ..models.enums import DeliveryFlagKind

    found = Alerts()
    certs = listing(session, coop)
    views = claims.load_certificates(session, coop.id)
    for cert in certs:
        # Today's standing, as the certificate page and the API say it: a suspension or
        # withdrawal in force outlives the end date (it stays suspended, not expired).
        standing = standing_of_view(views[cert.id], day)
        if standing.status in (CertificateStatus.SUSPENDED, CertificateStatus.WITHDRAWN):
            if (day - cert.valid_until).days <= EXPIRED_SHOWN_DAYS:
                found.suspended.append((cert, standing.status, standing.since))
            continue
        if cert.valid_until < day:
            if (day - cert.valid_until).days <= EXPIRED_SHOWN_DAYS:
                found.expired.append(cert)
        elif cert.valid_until <= day + timedelta(days=30):
            found.expiring_30.append(cert)
        elif cert.valid_until <= day + timedelta(days=60):
            found.expiring_60.append(cert)
    for lapse in lapsed(session, coop, day):
        found.lapsed[lapse.type] = found.lapsed.get(lapse.type, 0) + 1
    over = session.execute(
        select(
            func.count(func.distinct(col(DeliveryFlag.delivery_id))),
            func.count(func.distinct(col(Delivery.family_id))),
        )
        .join(Delivery, col(Delivery.id) == col(DeliveryFlag.delivery_id))
        .where(
            col(DeliveryFlag.cooperative_id) == coop.id,
            col(DeliveryFlag.kind) == DeliveryFlagKind.OVER_CAP,
            # Caps are per season: a closed season's flags are history, not a task.
            col(Delivery.delivered_on).between(*season_bounds(coop, season_of(coop, day))),
        )
    ).one()
    found.over_cap_deliveries, found.over_cap_families = int(over[0]), int(over[1])
    found.protected_deliveries = int(
        session.execute(
            select(func.count())
            .select_from(DeliveryFlag)
            .where(
                col(DeliveryFlag.cooperative_id) == coop.id,
                col(DeliveryFlag.kind) == DeliveryFlagKind.PROTECTED_AREA,
            )
        ).scalar_one()
    )
    return found


def _last_day_in_force(view: CertView, day: date) -> date | None:
    """The latest day before `day` (within a year) on which the certificate was in force."""
    for back in range(1, LAPSE_WINDOW_DAYS + 1):
        candidate = day - timedelta(days=back)
        if view.active_on(candidate):
            return candidate
    return None


def lapsed(session: Session, coop: Cooperative, day: date) -> list[Lapse]:
    """Families certified under a certificate of some type within the last year that no
    certificate of that type certifies today (it expired, was suspended, or they left it).
    The database compares the two lists; only the lapsed families are read."""
    views = claims.load_certificates(session, coop.id, types=claims.family_types(session, coop.id))
    by_type: dict[str, list[CertView]] = defaultdict(list)
    for view in views.values():
        by_type[view.type].append(view)
    was: dict[tuple[str, uuid.UUID], tuple[uuid.UUID, date]] = {}
    for claim_type, certs in by_type.items():
        active = [c.id for c in certs if c.active_on(day)]
        now = in_force(active, day, "in_force_now") if active else None
        for cert in certs:
            last = _last_day_in_force(cert, day)
            if last is None:
                continue
            then = in_force([cert.id], last, "in_force_then")
            query = select(then.c.family_id).where(then.c.status == CoverageStatus.CERTIFIED)
            if now is not None:
                query = query.where(
                    then.c.family_id.not_in(
                        select(now.c.family_id).where(now.c.status == CoverageStatus.CERTIFIED)
                    )
                )
            for family_id in session.scalars(query):
                key = (claim_type, family_id)
                if key not in was or was[key][1] < last:
                    was[key] = (cert.id, last)
    if not was:
        return []
    names: dict[uuid.UUID, tuple[str, str]] = {}
    ids = sorted({family_id for _t, family_id in was})
    for start in range(0, len(ids), 900):
        for family_id, code, name in session.execute(
            select(col(Family.id), col(Family.member_code), col(Family.head_name)).where(
                col(Family.id).in_(ids[start : start + 900])
            )
        ):
            names[family_id] = (code, name)
    result = [
        Lapse(
            family_id=family_id,
            member_code=names[family_id][0],
            head_name=names[family_id][1],
            type=claim_type,
            certificate_id=cert_id,
            number=views[cert_id].number,
            last_day=last,
        )
        for (claim_type, family_id), (cert_id, last) in was.items()
        if family_id in names
    ]
    result.sort(key=lambda lapse: (lapse.type, lapse.member_code))
    return result
