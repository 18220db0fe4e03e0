"""Whom a certificate covers, and what a manager is warned about.

Organic and fair-trade certificates list families (the ICS list), each with a status
(certified, in conversion, excluded) from a date: entries are history, never edited or
deleted, and the latest entry from a date on or before a day answers for that day. Kosher
and other site certificates list processing sites for periods, one row each, kept when
the site is listed again. Every change asks the claims engine to recompute what depends
on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlmodel import Session, col

from .. import formatting
from ..models import (
    Certificate,
    Community,
    Family,
    FamilyAbsence,
    Plot,
    PlotFlag,
    ProcessingSite,
    SiteCoverage,
)
from ..models.enums import CoverageStatus, PlotFlagKind
from .certificates import (
    covers_families,
    parse_date,
)
from .claims import split_list
from .coverage_alerts import Alerts, Lapse, alerts, lapsed
from .coverage_history import (
    check_since,
    coverage_status,
    effective_entry,
    entries_by_family,
    in_force,
    insert_entries,
    require_family_certificate,
)
from .coverage_import import (
    COVERAGE_COLUMNS,
    MAX_CSV_ROWS,
    STATUS_WORDS,
    AlreadyCovered,
    CoverageImport,
    import_counted,
    import_coverage,
)
from .errors import Conflict, ValidationFailed
from .public_version import save_public
from .rows import mark_voided, one_or_new
from .text import given_reason

# A record a certificate's form names by id.
T = TypeVar("T", Family, Community, ProcessingSite)

# -- coverage: families -----------------------------------------------------------------


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
    family, day = _given(
        session, cert, Family, family_id, "family_id", _l("Unknown family."), status, since
    )
    if coverage_status(session, cert, family.id, day) == (day, status):
        raise Conflict(
            _l(
                "Family %(member)s already has this status from this date.",
                member=family.member_code,
            ),
            field="status",
        )
    return insert_entries(session, cert, [(family.id, status, day)], user_id=user_id, how="hand")


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
    community, day = _given(
        session,
        cert,
        Community,
        community_id,
        "community_id",
        _l("Unknown community."),
        status,
        since,
    )
    family_ids = list(
        session.scalars(
            select(col(Family.id)).where(
                col(Family.community_id) == community.id, col(Family.active).is_(True)
            )
        )
    )
    history_ = entries_by_family(session, cert, family_ids)
    rows = [
        (family_id, status, day)
        for family_id in sorted(family_ids)
        if (effective_entry(history_.get(family_id, []), day) or (None, None))[1] != status
    ]
    return insert_entries(session, cert, rows, user_id=user_id, how="community")


def _given(
    session: Session,
    cert: Certificate,
    model: type[T],
    record_id: Any,
    field: str,
    unknown: Any,
    status: str,
    since: Any,
) -> tuple[T, date]:
    """The family or community a coverage by hand names (of the certificate's cooperative)
    and the day it starts: refused with every wrong field at once."""
    require_family_certificate(session, cert)
    errors: dict[str, list[str]] = {}
    record = _of_cooperative(session, model, record_id, cert)
    if record is None:
        errors[field] = [str(unknown)]
    if status not in set(CoverageStatus):
        errors["status"] = [str(_l("Choose certified, in conversion or excluded."))]
    day = check_since(cert, since, errors)
    if errors:
        raise ValidationFailed(errors)
    assert record is not None and day is not None
    return record, day


def _of_cooperative(
    session: Session, model: type[T], record_id: Any, cert: Certificate
) -> T | None:
    """The record an id as typed names, if it is of the certificate's cooperative."""
    try:
        record = session.get(model, uuid.UUID(str(record_id)))
    except (ValueError, TypeError):
        return None
    return record if record is not None and record.cooperative_id == cert.cooperative_id else None


@dataclass
class CoverageRow:
    family: Family
    community: str
    since: date
    status: str
    # The family's plots of the certificate's crops that can carry its claim, and their
    # area; plots flagged inside the protected area (rule 5) carry none, so they are
    # counted apart and in neither figure.
    plots: int = 0
    area_m2: int = 0
    flagged_plots: int = 0


def coverage_query(
    cert: Certificate,
    day: date,
    *,
    statuses: Iterable[str] | None = None,
    search: str = "",
) -> Any:
    """(Family, community name, status, since) of the families on the list on a day,
    ordered by community and member code, to page through in the database. A family
    that was no longer a member that day is not on it (`member_on_clause`)."""
    current = in_force([cert.id], day)
    query = (
        select(Family, col(Community.name), current.c.status, current.c.since)
        .join(current, current.c.family_id == col(Family.id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(member_on_clause(day))
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
    """The rows of a coverage query, with each family's plots of the certificate's crops:
    those that can carry the claim, with their area, and those flagged inside the
    protected area apart (an approved list counting them overstated the hectares, and
    so the volume a certifier expects)."""
    rows = [
        CoverageRow(family, community, since, status)
        for family, community, status, since in session.execute(query)
    ]
    crops = sorted(set(split_list(cert.crops)))
    ids = [row.family.id for row in rows]
    by_family: dict[uuid.UUID, list[CoverageRow]] = {}
    for row in rows:
        by_family.setdefault(row.family.id, []).append(row)
    flagged = (
        select(col(PlotFlag.plot_id))
        .where(
            col(PlotFlag.plot_id) == col(Plot.id),
            col(PlotFlag.kind) == PlotFlagKind.PROTECTED_AREA,
            col(PlotFlag.resolved_at).is_(None),
        )
        .exists()
    )
    for start in range(0, len(ids), 900):
        for family_id, is_flagged, area in session.execute(
            select(col(Plot.family_id), flagged, col(Plot.area_m2)).where(
                col(Plot.family_id).in_(ids[start : start + 900]),
                col(Plot.crop).in_(crops),
            )
        ):
            for row in by_family[family_id]:
                if is_flagged:
                    row.flagged_plots += 1
                else:
                    row.plots += 1
                    row.area_m2 += int(area or 0)
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
    """How many families are certified, in conversion and excluded on a day, of those
    that were members that day (`member_on_clause`)."""
    current = in_force([cert.id], day)
    counts = {str(s): 0 for s in CoverageStatus}
    for status, count in session.execute(
        select(current.c.status, func.count())
        .join(Family, col(Family.id) == current.c.family_id)
        .where(member_on_clause(day))
        .group_by(current.c.status)
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
    """List a processing site under a site certificate (kosher) for a period from a date,
    or end that period (an end date takes it off from the day after). A period is named
    by its start: the same start again changes its end; another start adds a period, and
    the earlier ones stay, so lots processed then keep their claim."""
    if covers_families(session, cert):
        raise ValidationFailed(
            {"site_id": [str(_l("This certificate covers families, not processing sites."))]}
        )
    errors: dict[str, list[str]] = {}
    site = _of_cooperative(session, ProcessingSite, site_id, cert)
    if site is None:
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
    _refuse_overlap(session, cert, site.id, start, end)
    cover = one_or_new(
        session,
        SiteCoverage,
        {"certificate_id": cert.id, "site_id": site.id, "since": start},
        cooperative_id=cert.cooperative_id,
        created_by_id=user_id,
    )
    if cover.voided_at is not None:
        raise ValidationFailed(
            {
                "since": [
                    str(
                        _l("A withdrawn period started on this day: start the site on another day.")
                    )
                ]
            }
        )
    cover.until = end
    save_public(session, cover)
    return cover


def _refuse_overlap(
    session: Session, cert: Certificate, site_id: uuid.UUID, start: date, end: date | None
) -> None:
    """Another period of the site under the certificate that shares a day with this one
    would leave the end typed here ending nothing: say which, and change nothing."""
    for other in session.scalars(
        select(SiteCoverage).where(
            col(SiteCoverage.certificate_id) == cert.id,
            col(SiteCoverage.site_id) == site_id,
            col(SiteCoverage.since) != start,
            col(SiteCoverage.voided_at).is_(None),
        )
    ):
        if (end is None or other.since <= end) and (other.until is None or other.until >= start):
            listed = (
                _l("from %(since)s", since=formatting.day(other.since))
                if other.until is None
                else _l(
                    "from %(since)s to %(until)s",
                    since=formatting.day(other.since),
                    until=formatting.day(other.until),
                )
            )
            raise ValidationFailed(
                {
                    "since": [
                        str(
                            _l(
                                "The site is already listed %(period)s: end that period, or "
                                "give dates outside it.",
                                period=str(listed),
                            )
                        )
                    ]
                }
            )


def void_site(
    session: Session,
    *,
    cert: Certificate,
    period_id: Any,
    reason: str,
    user_id: uuid.UUID | None,
) -> SiteCoverage:
    """Withdraw a period a site was listed by mistake (a mistyped start): voided with a
    reason, never deleted, its dates kept as typed, and then it covers no day (the claims
    engine reads only periods in force); lots processed in it lose the claim as when a
    period is shortened, and a new period may overlap it."""
    reason = given_reason(reason, _l("Say why the period is withdrawn."))
    try:
        wanted = uuid.UUID(str(period_id))
    except ValueError:
        wanted = None
    cover = (
        session.scalars(
            select(SiteCoverage)
            .where(col(SiteCoverage.id) == wanted, col(SiteCoverage.certificate_id) == cert.id)
            .with_for_update()
        ).first()
        if wanted is not None
        else None
    )
    if cover is None:
        raise ValidationFailed({"period_id": [str(_l("Unknown period of a processing site."))]})
    session.refresh(cover)
    if cover.voided_at is not None:
        raise Conflict(_l("This period is already withdrawn."))
    mark_voided(cover, reason=reason, user_id=user_id)
    save_public(session, cover)
    return cover


def sites(session: Session, cert: Certificate) -> list[tuple[SiteCoverage, ProcessingSite]]:
    """Every period a site is listed under the certificate, by site and start."""
    rows = session.execute(
        select(SiteCoverage, ProcessingSite)
        .join(ProcessingSite, col(ProcessingSite.id) == col(SiteCoverage.site_id))
        .where(col(SiteCoverage.certificate_id) == cert.id)
        .order_by(col(ProcessingSite.code), col(SiteCoverage.since))
    ).all()
    return [(cover, site) for cover, site in rows]


# -- approved producers -----------------------------------------------------------------

APPROVED = (CoverageStatus.CERTIFIED, CoverageStatus.IN_CONVERSION)


def approved_producers(session: Session, cert: Certificate, day: date) -> list[CoverageRow]:
    """Families listed as certified or in conversion on a day: the certifier's list. A
    family that was no longer a member on the day is left out (its deliveries are
    refused, and its hectares would overstate what the certificate can yield), whatever
    its coverage; one that left after the day is on the list of that day."""
    return coverage_on(session, cert, day, statuses=[str(s) for s in APPROVED])


def member_on_clause(day: date) -> Any:
    """The families that were members on the day: none of their times away
    (`FamilyAbsence`, from the day it left until the day it came back) covers it."""
    away = exists().where(
        col(FamilyAbsence.family_id) == col(Family.id),
        col(FamilyAbsence.left_on) <= day,
        or_(col(FamilyAbsence.back_on).is_(None), col(FamilyAbsence.back_on) > day),
    )
    recorded = exists().where(col(FamilyAbsence.family_id) == col(Family.id))
    # An inactive family with no time away recorded (`families.was_away`): gone from its
    # left_on, or on every day without one.
    return and_(~away, or_(col(Family.active).is_(True), recorded, col(Family.left_on) > day))


__all__ = [
    "APPROVED",
    "COVERAGE_COLUMNS",
    "MAX_CSV_ROWS",
    "STATUS_WORDS",
    "Alerts",
    "AlreadyCovered",
    "CoverageImport",
    "CoverageRow",
    "Lapse",
    "add_coverage",
    "alerts",
    "approved_producers",
    "cover_community",
    "coverage_counts",
    "coverage_on",
    "coverage_query",
    "coverage_rows",
    "coverage_status",
    "import_counted",
    "import_coverage",
    "in_force",
    "lapsed",
    "member_on_clause",
    "set_site",
    "sites",
    "void_site",
]
