"""Whom a certificate covers, and what a manager is warned about.

Organic and fair-trade certificates list families (the ICS list), each with a status
(certified, in conversion, excluded) from a date: entries are history, never edited or
deleted, and the latest entry from a date on or before a day answers for that day. Kosher
and other site certificates list processing sites. Every change asks the claims engine to
recompute what depends on it.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, insert, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from ..models import (
    Certificate,
    Community,
    Cooperative,
    CoverageEntry,
    Family,
    Plot,
    ProcessingSite,
    SiteCoverage,
    utcnow,
)
from ..models.enums import CertificateStatus, CoverageStatus
from . import audit, claims
from .certificates import (
    EARLIEST,
    LATEST,
    covers_families,
    fold_key,
    listing,
    parse_date,
    unprintable,
)
from .claims import CertView, split_list
from .cooperatives import bump_public_version
from .errors import Conflict, ValidationFailed
from .imports import ImportFailed, RowError, read_table

MAX_CSV_ROWS = 100_000


# -- coverage: families -----------------------------------------------------------------

STATUS_WORDS = {
    "certified": CoverageStatus.CERTIFIED,
    "certificado": CoverageStatus.CERTIFIED,
    "certificada": CoverageStatus.CERTIFIED,
    "in_conversion": CoverageStatus.IN_CONVERSION,
    "en_conversion": CoverageStatus.IN_CONVERSION,
    "conversion": CoverageStatus.IN_CONVERSION,
    "en_transicion": CoverageStatus.IN_CONVERSION,
    "transicion": CoverageStatus.IN_CONVERSION,
    "excluded": CoverageStatus.EXCLUDED,
    "excluido": CoverageStatus.EXCLUDED,
    "excluida": CoverageStatus.EXCLUDED,
}


def _require_family_certificate(session: Session, cert: Certificate) -> None:
    if not covers_families(session, cert):
        raise ValidationFailed(
            {"family_id": [str(_l("This certificate covers processing sites, not families."))]}
        )


def _check_since(cert: Certificate, value: Any, errors: dict[str, list[str]]) -> date | None:
    day = parse_date(value, "since", errors)
    if day is not None and day > cert.valid_until:
        errors["since"] = [
            str(
                _l(
                    "The date is after the certificate's validity ends (%(end)s).",
                    end=cert.valid_until.isoformat(),
                )
            )
        ]
        return None
    return day


def _entries(
    session: Session, cert: Certificate, family_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[tuple[date, datetime, str]]]:
    """Coverage history per family, oldest first."""
    query = select(
        col(CoverageEntry.family_id),
        col(CoverageEntry.since),
        col(CoverageEntry.created_at),
        col(CoverageEntry.status),
    ).where(col(CoverageEntry.certificate_id) == cert.id)
    found: dict[uuid.UUID, list[tuple[date, datetime, str]]] = defaultdict(list)
    if family_ids is not None:
        ids = sorted(set(family_ids))
        for start in range(0, len(ids), 900):
            for family_id, since, created, status in session.execute(
                query.where(col(CoverageEntry.family_id).in_(ids[start : start + 900]))
            ):
                found[family_id].append((since, created, status))
    else:
        for family_id, since, created, status in session.execute(query):
            found[family_id].append((since, created, status))
    for entries in found.values():
        entries.sort(key=lambda e: (e[0], e[1]))
    return found


def _effective(entries: list[tuple[date, datetime, str]], day: date) -> tuple[date, str] | None:
    current = None
    for since, _created, status in entries:
        if since <= day:
            current = (since, status)
    return current


def coverage_status(
    session: Session, cert: Certificate, family_id: uuid.UUID, day: date
) -> tuple[date, str] | None:
    """(since, status) of a family under the certificate on a day, or None if not listed."""
    return _effective(_entries(session, cert, [family_id]).get(family_id, []), day)


def _insert_entries(
    session: Session,
    cert: Certificate,
    rows: list[tuple[uuid.UUID, str, date]],
    *,
    user_id: uuid.UUID | None,
    how: str,
) -> int:
    """Store coverage entries in one statement, with one audit entry for all of them."""
    if not rows:
        return 0
    now = utcnow()
    values = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "cooperative_id": cert.cooperative_id,
            "certificate_id": cert.id,
            "family_id": family_id,
            "status": status,
            "since": since,
            "created_by_id": user_id,
        }
        for family_id, status, since in rows
    ]
    for start in range(0, len(values), 5000):
        session.execute(insert(CoverageEntry), values[start : start + 5000])
    audit.record_rows(
        session,
        model=CoverageEntry,
        cooperative_id=cert.cooperative_id,
        rows=values,
        entity_id=str(cert.id),
        summary={"how": how, "certificate": cert.number},
    )
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    claims.refresh_families(session, coop, {r[0] for r in rows})
    return len(rows)


def add_coverage(
    session: Session,
    cert: Certificate,
    *,
    family_id: Any,
    status: str,
    since: Any,
    user_id: uuid.UUID | None = None,
) -> int:
    """Put one family on the certificate's list with a status from a date (by hand)."""
    _require_family_certificate(session, cert)
    errors: dict[str, list[str]] = {}
    family = None
    try:
        family = session.get(Family, uuid.UUID(str(family_id)))
    except (ValueError, TypeError):
        family = None
    if family is None or family.cooperative_id != cert.cooperative_id:
        errors["family_id"] = [str(_l("Unknown family."))]
    if status not in set(CoverageStatus):
        errors["status"] = [str(_l("Choose certified, in conversion or excluded."))]
    day = _check_since(cert, since, errors)
    if errors:
        raise ValidationFailed(errors)
    assert family is not None and day is not None
    if coverage_status(session, cert, family.id, day) == (day, status):
        raise Conflict(
            _l(
                "Family %(member)s already has this status from this date.",
                member=family.member_code,
            ),
            field="status",
        )
    return _insert_entries(session, cert, [(family.id, status, day)], user_id=user_id, how="hand")


def cover_community(
    session: Session,
    cert: Certificate,
    *,
    community_id: Any,
    status: str,
    since: Any,
    user_id: uuid.UUID | None = None,
) -> int:
    """Give every active family of a community a status from a date; families that already
    have that status on that date are left as they are. Returns how many changed."""
    _require_family_certificate(session, cert)
    errors: dict[str, list[str]] = {}
    community = None
    try:
        community = session.get(Community, uuid.UUID(str(community_id)))
    except (ValueError, TypeError):
        community = None
    if community is None or community.cooperative_id != cert.cooperative_id:
        errors["community_id"] = [str(_l("Unknown community."))]
    if status not in set(CoverageStatus):
        errors["status"] = [str(_l("Choose certified, in conversion or excluded."))]
    day = _check_since(cert, since, errors)
    if errors:
        raise ValidationFailed(errors)
    assert community is not None and day is not None
    family_ids = list(
        session.scalars(
            select(col(Family.id)).where(
                col(Family.community_id) == community.id, col(Family.active).is_(True)
            )
        )
    )
    history_ = _entries(session, cert, family_ids)
    rows = [
        (family_id, status, day)
        for family_id in sorted(family_ids)
        if (_effective(history_.get(family_id, []), day) or (None, None))[1] != status
    ]
    return _insert_entries(session, cert, rows, user_id=user_id, how="community")


COVERAGE_COLUMNS = {
    "member_code": ("member_code", "codigo_socio", "codigo_de_socio", "codigo", "socio", "member"),
    "status": ("status", "estado", "situacion"),
    "since": ("since", "desde", "fecha", "fecha_desde", "from"),
}


def _csv_date(text: str) -> date | None:
    text = text.strip()
    for pattern in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"):
        match = re.fullmatch(pattern, text)
        if match:
            parts = [int(p) for p in match.groups()]
            year, month, day = parts if pattern.startswith(r"(\d{4})") else parts[::-1]
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def import_coverage(
    session: Session, cert: Certificate, data: bytes, *, user_id: uuid.UUID | None = None
) -> int:
    """The ICS list from a CSV (member_code, status, since; Spanish names and values too).
    All or nothing: every bad row is listed and nothing is stored."""
    _require_family_certificate(session, cert)
    table = read_table(data, "coverage", known=COVERAGE_COLUMNS)
    if len(table.rows) > MAX_CSV_ROWS:
        line = table.rows[MAX_CSV_ROWS][0]
        raise ImportFailed(
            [RowError(line, "", str(_l("At most %(n)s rows in one file.", n=MAX_CSV_ROWS)))]
        )
    if not table.rows:
        raise ImportFailed([RowError(1, "", str(_l("The file has no rows.")))])
    at = [table.index(name) for name in COVERAGE_COLUMNS]
    parsed: list[tuple[int, str, str, str]] = []
    for line, cells in table.rows:
        code, status_text, since_text = (
            cells[i].strip() if i is not None and i < len(cells) else "" for i in at
        )
        parsed.append((line, code, status_text, since_text))
    errors: list[RowError] = []
    codes = {code.upper() for _l_, code, _s, _d in parsed if code and not unprintable(code)}
    families: dict[str, uuid.UUID] = {}
    code_list = sorted(codes)
    for start in range(0, len(code_list), 900):
        families.update(
            {
                code: family_id
                for code, family_id in session.execute(
                    select(col(Family.member_code), col(Family.id)).where(
                        col(Family.cooperative_id) == cert.cooperative_id,
                        col(Family.member_code).in_(code_list[start : start + 900]),
                    )
                )
            }
        )
    rows: list[tuple[uuid.UUID, str, date]] = []
    seen: dict[tuple[uuid.UUID, date], int] = {}
    for line, code, status_text, since_text in parsed:
        family_id = families.get(code.upper())
        if not code:
            errors.append(RowError(line, "member_code", str(_l("This field is required."))))
        elif family_id is None:
            errors.append(
                RowError(line, "member_code", str(_l("Unknown member code %(code)s.", code=code)))
            )
        status = STATUS_WORDS.get(fold_key(status_text))
        if status is None:
            errors.append(
                RowError(line, "status", str(_l("Choose certified, in conversion or excluded.")))
            )
        day = _csv_date(since_text)
        if day is None or not EARLIEST <= day <= LATEST:
            errors.append(
                RowError(line, "since", str(_l("Give a date as YYYY-MM-DD or DD/MM/YYYY.")))
            )
        elif day > cert.valid_until:
            errors.append(
                RowError(
                    line,
                    "since",
                    str(
                        _l(
                            "The date is after the certificate's validity ends (%(end)s).",
                            end=cert.valid_until.isoformat(),
                        )
                    ),
                )
            )
        if family_id is not None and status is not None and day is not None:
            if (family_id, day) in seen:
                errors.append(
                    RowError(
                        line,
                        "member_code",
                        str(
                            _l(
                                "This family is listed twice for the same date (line %(line)s).",
                                line=seen[(family_id, day)],
                            )
                        ),
                    )
                )
            seen[(family_id, day)] = line
            rows.append((family_id, str(status), day))
    if errors:
        raise ImportFailed(errors)
    history_ = _entries(session, cert, [r[0] for r in rows])
    fresh = [
        row for row in rows if _effective(history_.get(row[0], []), row[2]) != (row[2], row[1])
    ]
    return _insert_entries(session, cert, fresh, user_id=user_id, how="csv")


@dataclass
class CoverageRow:
    family: Family
    community: str
    since: date
    status: str
    plots: int = 0
    area_m2: int = 0


def in_force(cert_ids: Sequence[uuid.UUID], day: date, name: str = "in_force") -> Any:
    """The coverage entries in force on a day (one per family and certificate: the latest
    from that day or before), as a subquery the database answers with its index."""
    later = aliased(CoverageEntry)
    return (
        select(
            col(CoverageEntry.certificate_id),
            col(CoverageEntry.family_id),
            col(CoverageEntry.status),
            col(CoverageEntry.since),
        )
        .where(
            col(CoverageEntry.certificate_id).in_(list(cert_ids)),
            col(CoverageEntry.since) <= day,
            ~exists().where(
                col(later.certificate_id) == col(CoverageEntry.certificate_id),
                col(later.family_id) == col(CoverageEntry.family_id),
                col(later.since) <= day,
                or_(
                    col(later.since) > col(CoverageEntry.since),
                    and_(
                        col(later.since) == col(CoverageEntry.since),
                        col(later.created_at) > col(CoverageEntry.created_at),
                    ),
                ),
            ),
        )
        .subquery(name)
    )


def coverage_query(
    cert: Certificate,
    day: date,
    *,
    statuses: Iterable[str] | None = None,
    search: str = "",
) -> Any:
    """(Family, community name, status, since) of the families on the list on a day,
    ordered by community and member code, to page through in the database."""
    current = in_force([cert.id], day)
    query = (
        select(Family, col(Community.name), current.c.status, current.c.since)
        .join(current, current.c.family_id == col(Family.id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .order_by(col(Community.name), col(Family.member_code))
    )
    if statuses is not None:
        query = query.where(current.c.status.in_(list(statuses)))
    text = "".join(ch for ch in (search or "") if ord(ch) >= 32).strip().lower()
    if text:
        like = f"%{text}%"
        query = query.where(
            or_(
                func.lower(col(Family.member_code)).like(like),
                func.lower(col(Family.head_name)).like(like),
                func.lower(col(Community.name)).like(like),
            )
        )
    return query


def coverage_rows(session: Session, cert: Certificate, query: Any) -> list[CoverageRow]:
    """The rows of a coverage query, with each family's plots of the certificate's crops."""
    rows = [
        CoverageRow(family, community, since, status)
        for family, community, status, since in session.execute(query)
    ]
    crops = sorted(set(split_list(cert.crops)))
    plots: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    ids = [row.family.id for row in rows]
    for start in range(0, len(ids), 900):
        for family_id, count, area in session.execute(
            select(col(Plot.family_id), func.count(), func.sum(col(Plot.area_m2)))
            .where(
                col(Plot.family_id).in_(ids[start : start + 900]),
                col(Plot.crop).in_(crops),
            )
            .group_by(col(Plot.family_id))
        ):
            plots[family_id] = [int(count), int(area or 0)]
    for row in rows:
        row.plots, row.area_m2 = plots[row.family.id]
    return rows


def coverage_on(
    session: Session,
    cert: Certificate,
    day: date,
    *,
    statuses: Iterable[str] | None = None,
) -> list[CoverageRow]:
    """Every family listed on the certificate on a day, with its status then."""
    return coverage_rows(session, cert, coverage_query(cert, day, statuses=statuses))


def coverage_counts(session: Session, cert: Certificate, day: date) -> dict[str, int]:
    """How many families are certified, in conversion and excluded on a day."""
    current = in_force([cert.id], day)
    counts = {str(s): 0 for s in CoverageStatus}
    for status, count in session.execute(
        select(current.c.status, func.count()).group_by(current.c.status)
    ):
        counts[status] = int(count)
    return counts


# -- coverage: sites (kosher) -----------------------------------------------------------


def set_site(
    session: Session,
    cert: Certificate,
    *,
    site_id: Any,
    since: Any,
    until: Any = None,
    user_id: uuid.UUID | None = None,
) -> SiteCoverage:
    """List a processing site under a site certificate (kosher) from a date, or change the
    dates it is listed for (an end date takes it off from the day after)."""
    if covers_families(session, cert):
        raise ValidationFailed(
            {"site_id": [str(_l("This certificate covers families, not processing sites."))]}
        )
    errors: dict[str, list[str]] = {}
    site = None
    try:
        site = session.get(ProcessingSite, uuid.UUID(str(site_id)))
    except (ValueError, TypeError):
        site = None
    if site is None or site.cooperative_id != cert.cooperative_id:
        errors["site_id"] = [str(_l("Unknown processing site."))]
    start = parse_date(since, "since", errors)
    end = None
    if until not in (None, ""):
        end = parse_date(until, "until", errors)
        if start and end and end < start:
            errors["until"] = [str(_l("The end cannot be before the start."))]
    if errors:
        raise ValidationFailed(errors)
    assert site is not None and start is not None
    cover = session.scalars(
        select(SiteCoverage).where(
            col(SiteCoverage.certificate_id) == cert.id, col(SiteCoverage.site_id) == site.id
        )
    ).first()
    if cover is None:
        cover = SiteCoverage(
            cooperative_id=cert.cooperative_id,
            certificate_id=cert.id,
            site_id=site.id,
            since=start,
            until=end,
            created_by_id=user_id,
        )
    else:
        cover.since, cover.until = start, end
    session.add(cover)
    bump_public_version(session, cert.cooperative_id)
    session.flush()
    return cover


def sites(session: Session, cert: Certificate) -> list[tuple[SiteCoverage, ProcessingSite]]:
    rows = session.execute(
        select(SiteCoverage, ProcessingSite)
        .join(ProcessingSite, col(ProcessingSite.id) == col(SiteCoverage.site_id))
        .where(col(SiteCoverage.certificate_id) == cert.id)
        .order_by(col(ProcessingSite.code))
    ).all()
    return [(cover, site) for cover, site in rows]


# -- approved producers -----------------------------------------------------------------

APPROVED = (CoverageStatus.CERTIFIED, CoverageStatus.IN_CONVERSION)


def approved_producers(session: Session, cert: Certificate, day: date) -> list[CoverageRow]:
    """Families listed as certified or in conversion on a day: the certifier's list."""
    return coverage_on(session, cert, day, statuses=[str(s) for s in APPROVED])


# -- alerts -----------------------------------------------------------------------------


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
    from sqlalchemy import func

    from ..models import Delivery, DeliveryFlag
    from ..models.enums import DeliveryFlagKind

    found = Alerts()
    certs = listing(session, coop)
    views = claims.load_certificates(session, coop.id)
    for cert in certs:
        view = views[cert.id]
        change = view.status_change_on(day)
        if change is not None and change[2] != CertificateStatus.ACTIVE and cert.valid_until >= day:
            found.suspended.append((cert, change[2], change[0]))
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
