"""What each long staff list reads: its filters, its source (for `listing.page_of` and
`listing.every`) and the rows its export writes.

Deliveries, families, lapsed coverage, payments and a certificate's coverage; the audit
trail's is `audit_trail`. A list's page and its CSV are built from one `source(...)`, so
they agree row for row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..models import (
    Certificate,
    CollectionCentre,
    Community,
    Cooperative,
    Delivery,
    Family,
    Payment,
    Plot,
)
from . import coverage, delivery_pages, families
from .delivery_pages import Kilos
from .listing import conditions, search_words
from .text import fold
from .vocabulary import claim_names

# -- deliveries ----------------------------------------------------------------------------

DELIVERY_STATES = ("valid", "voided")


@dataclass(frozen=True)
class DeliveryFilter:
    day_from: date | None = None
    day_to: date | None = None
    centre_id: uuid.UUID | None = None
    form: str = ""
    state: str = ""  # "", "valid" or "voided"
    q: str = ""  # receipt number, member code or name


def _delivery_where(coop: Cooperative, f: DeliveryFilter) -> list[Any]:
    return [
        col(Delivery.cooperative_id) == coop.id,
        *conditions(
            f,
            equal=((col(Delivery.centre_id), f.centre_id), (col(Delivery.form), f.form)),
            days=col(Delivery.delivered_on),
            voided=col(Delivery.voided_at),
            search=(
                col(Delivery.receipt_number),
                col(Family.member_code),
                col(Family.head_name),
                col(Delivery.paper_receipt),
            ),
        ),
    ]


def deliveries(coop: Cooperative, f: DeliveryFilter) -> Any:
    """(Delivery, Family) of the filter, newest first."""
    return (
        select(Delivery, Family)
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .where(*_delivery_where(coop, f))
        .order_by(col(Delivery.delivered_on).desc(), col(Delivery.receipt_number).desc())
    )


class DeliveryTotals(NamedTuple):
    """The list's headline: net grams (None when the rows hold several products: kilos
    of different products are never added), their worth with premiums, how many await
    their price, and the kilos by product (`kilos`)."""

    net_g: int | None
    worth_minor: int
    pending: int
    kilos: Kilos = Kilos()


def delivery_totals(session: Session, coop: Cooperative, f: DeliveryFilter) -> DeliveryTotals:
    """The filter's valid deliveries by product, and what they are worth (with premiums)
    and how many still await their price (worth nothing yet, not paid at 0)."""
    where = [*_delivery_where(coop, f), col(Delivery.voided_at).is_(None)]
    found = delivery_pages.kilos(session, where, with_family=True)
    return DeliveryTotals(found.net_g, found.worth_minor, found.pending, found)


def delivery_export(coop: Cooperative, f: DeliveryFilter) -> Any:
    """The export's rows of the filter: (Delivery, member code, plot name, centre code),
    in the page's order (the columns `csv_export.deliveries` writes)."""
    return (
        select(Delivery, col(Family.member_code), col(Plot.name), col(CollectionCentre.code))
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .join(Plot, col(Plot.id) == col(Delivery.plot_id))
        .join(CollectionCentre, col(CollectionCentre.id) == col(Delivery.centre_id))
        .where(*_delivery_where(coop, f))
        .order_by(col(Delivery.delivered_on).desc(), col(Delivery.receipt_number).desc())
    )


# -- families ------------------------------------------------------------------------------

FAMILY_STATES = ("active", "inactive")


@dataclass(frozen=True)
class FamilyFilter:
    q: str = ""
    community_id: uuid.UUID | None = None
    state: str = ""  # "", "active" or "inactive"


def family_list(session: Session, coop: Cooperative, f: FamilyFilter) -> Any:
    """Families of the filter by member code (the families page's search)."""
    query = families.search_query(session, coop, f.q, community_id=f.community_id)
    if f.state:
        query = query.where(col(Family.active).is_(f.state == "active"))
    return query


def family_export(session: Session, coop: Cooperative, f: FamilyFilter) -> Any:
    """(Family, community name) of the filter, by member code (`csv_export.families`)."""
    ids = family_list(session, coop, f).with_only_columns(col(Family.id)).order_by(None)
    return (
        select(Family, func.coalesce(col(Community.name), ""))
        .outerjoin(Community, col(Community.id) == col(Family.community_id))
        .where(col(Family.id).in_(ids))
        .order_by(col(Family.member_code))
    )


# -- lapsed coverage -----------------------------------------------------------------------


@dataclass(frozen=True)
class LapseFilter:
    q: str = ""  # member code or name
    claim: str = ""  # claim type


def lapsed(session: Session, coop: Cooperative, day: date, f: LapseFilter) -> list[Any]:
    """Families whose coverage lapsed (`coverage.lapsed`), filtered, by claim and code."""
    rows = coverage.lapsed(session, coop, day)
    if f.claim:
        rows = [r for r in rows if r.type == f.claim]
    for word in [fold(w) for w in search_words(f.q)]:
        rows = [r for r in rows if word in r.member_code.lower() or word in fold(r.head_name)]
    return rows


def lapse_claims(session: Session, coop: Cooperative) -> dict[str, str]:
    """The claim types a lapse can be of, with their names."""
    return claim_names(session, coop.id)


# -- payments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilter:
    season: int | None = None
    kind: str = ""
    method: str = ""
    day_from: date | None = None
    day_to: date | None = None
    state: str = ""  # "", "valid" or "voided"
    q: str = ""  # member code, name or reference


def payments(coop: Cooperative, f: PaymentFilter) -> Any:
    """(Payment, Family) of the filter, newest first."""
    query = (
        select(Payment, Family)
        .join(Family, col(Family.id) == col(Payment.family_id))
        .where(col(Payment.cooperative_id) == coop.id)
    )
    query = query.where(
        *conditions(
            f,
            equal=(
                (col(Payment.season), f.season),
                (col(Payment.kind), f.kind),
                (col(Payment.method), f.method),
            ),
            days=col(Payment.paid_on),
            voided=col(Payment.voided_at),
            search=(col(Family.member_code), col(Family.head_name), col(Payment.reference)),
        )
    )
    return query.order_by(col(Payment.paid_on).desc(), col(Payment.created_at).desc())


def payment_total(session: Session, coop: Cooperative, f: PaymentFilter) -> int:
    """What the filter's valid payments add up to, in minor units."""
    listed = payments(coop, f).order_by(None).where(col(Payment.voided_at).is_(None)).subquery()
    return int(
        session.execute(select(func.coalesce(func.sum(listed.c.amount_minor), 0))).scalar_one()
    )


def payment_seasons(session: Session, coop: Cooperative) -> list[int]:
    return [
        int(s)
        for s in session.scalars(
            select(col(Payment.season))
            .where(col(Payment.cooperative_id) == coop.id)
            .distinct()
            .order_by(col(Payment.season).desc())
        )
    ]


# -- a certificate's coverage ----------------------------------------------------------------


@dataclass(frozen=True)
class CoverageFilter:
    on: date
    status: str = ""
    q: str = ""


def certificate_coverage(cert: Certificate, f: CoverageFilter) -> Any:
    """(Family, community, status, since) on the certificate's list on a day
    (`coverage.coverage_query`); its pages are read with `coverage_rows`."""
    return coverage.coverage_query(
        cert, f.on, statuses=[f.status] if f.status else None, search=f.q[:60]
    )


def coverage_rows(session: Session, cert: Certificate) -> Any:
    """How a slice of `certificate_coverage` becomes its rows (plots and hectares too)."""
    return lambda db, statement: coverage.coverage_rows(db, cert, statement)


def coverage_export(session: Session, cert: Certificate, f: CoverageFilter) -> Iterator[Any]:
    """Every row of the filter, with plots and hectares, a thousand families at a time."""
    statement = certificate_coverage(cert, f)
    offset = 0
    while True:
        rows = coverage.coverage_rows(session, cert, statement.offset(offset).limit(1000))
        yield from rows
        if len(rows) < 1000:
            return
        offset += 1000
