"""What the certificate pages show, read in one place: one certificate with its status,
coverage and mass-balance ledger; its coverage list a page at a time; the flagged
deliveries. The rules for certificates stay in `services/certificates.py` and
`services/coverage.py`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from .. import paging
from ..models import (
    Certificate,
    Cooperative,
    CoverageEntry,
    Delivery,
    DeliveryFlag,
    Family,
    Lot,
    Plot,
    StoredFile,
)
from ..models.enums import Basis
from . import (
    certificate_documents,
    certificates,
    conversions,
    coverage,
    families,
    lot_pages,
    vocabulary,
)
from .claims import caps, massbalance
from .cooperatives import season_of

FLAGS_SHOWN = 2000


def certificate_page(
    session: Session, cert: Certificate, coop: Cooperative, *, today: date, on: date
) -> dict[str, Any]:
    """One certificate: its status today and on `on`, history, documents, whom it covers
    (families or sites), the mass-balance ledgers (one per crop), and the options its forms offer."""
    family_cert = certificates.covers_families(session, cert)
    ledgers: list[tuple[Any, list[tuple[Any, str]]]] = []
    if cert.basis == Basis.MASS_BALANCE and family_cert:
        books = massbalance.certificate_ledgers(session, cert)
        codes = lot_codes(session, [a.lot_id for book in books for a in book.allocations])
        ledgers = [
            (book, [(a, codes.get(a.lot_id, "")) for a in book.allocations]) for book in books
        ]
    return {
        "labels": vocabulary.claim_names(session, cert.cooperative_id),
        "state": certificates.state_on(session, cert, today),
        "standing": certificates.status_on(session, cert, on),
        "state_on": certificates.state_on(session, cert, on),
        "history": certificates.history(session, cert),
        "documents": certificate_documents.documents(session, cert),
        "family_cert": family_cert,
        "counts": coverage.coverage_counts(session, cert, today) if family_cert else {},
        "sites": coverage.sites(session, cert) if not family_cert else [],
        "site_options": [
            (str(s.id), f"{s.code} · {s.name}") for s in lot_pages.sites(session, coop)
        ],
        "communities": [(str(c.id), c.name) for c in families.communities(session, coop)],
        "ledgers": ledgers,
    }


def listing_page(session: Session, coop: Cooperative, today: date) -> dict[str, Any]:
    """The certificates list: each with its state, how many it covers and its document,
    and the alerts."""
    found = certificates.listing(session, coop)
    counts = {}
    for cert in found:
        if certificates.covers_families(session, cert):
            counts[cert.id] = coverage.coverage_counts(session, cert, today).get("certified", 0)
        else:
            # the sites listed today, as families are counted: one site however many periods
            counts[cert.id] = len(
                {
                    site.id
                    for cover, site in coverage.sites(session, cert)
                    if cover.voided_at is None
                    and cover.since <= today
                    and (cover.until is None or today <= cover.until)
                }
            )
    return {
        "certificates": found,
        "states": certificates.states(session, found, today),
        "counts": counts,
        "documents": {c.id: certificate_documents.current_document(session, c) for c in found},
        "labels": vocabulary.claim_names(session, coop.id),
        "alerts": coverage.alerts(session, coop, today),
        "kinds": certificates.types(session, coop),
    }


def coverage_page(
    session: Session,
    cert: Certificate,
    *,
    on: date,
    statuses: list[str] | None,
    search: str,
    page: int,
    size: int,
) -> dict[str, Any]:
    """The families on the certificate's list on a day, a page at a time (a page past the
    end is the last page)."""
    statement = coverage.coverage_query(cert, on, statuses=statuses, search=search)
    total = paging.count(session, statement)
    pages = max(1, (total + size - 1) // size)
    page = min(page, pages)
    return {
        "labels": vocabulary.claim_names(session, cert.cooperative_id),
        "rows": coverage.coverage_rows(
            session, cert, statement.offset((page - 1) * size).limit(size)
        ),
        "total": total,
        "page": page,
        "pages": pages,
        "counts": coverage.coverage_counts(session, cert, on),
    }


def family_by_code(session: Session, cert: Certificate, code: str) -> uuid.UUID | None:
    """The id of the certificate's cooperative's family with this member code."""
    code = (code or "").strip().upper()
    if not code or certificates.unprintable(code):
        return None
    return session.scalars(
        select(Family.id).where(
            Family.cooperative_id == cert.cooperative_id,
            or_(Family.member_code == code, func.upper(Family.member_code) == code),  # type: ignore[arg-type]
        )
    ).first()


def certificate(session: Session, cert_id: uuid.UUID | None) -> Certificate | None:
    """A certificate by id (None for none); the caller checks its cooperative."""
    return session.get(Certificate, cert_id) if cert_id else None


def stored_file(session: Session, file_id: uuid.UUID) -> StoredFile | None:
    """A stored file by id."""
    return session.get(StoredFile, file_id)


def flags_page(session: Session, coop: Cooperative) -> dict[str, Any]:
    """Deliveries the claims engine flagged: families over a volume cap (summed per family,
    claim, season and crop, in kg of the crop's reference form, as the engine and the
    season report count the cap), and deliveries from a plot in the protected area."""
    factors = conversions.load(session, coop.id)  # the cooperative's own, as the engine's
    rows = session.execute(
        select(DeliveryFlag, Delivery, Family.member_code, Family.head_name, Plot.name)  # type: ignore[call-overload]
        .join(Delivery, Delivery.id == DeliveryFlag.delivery_id)
        .join(Family, Family.id == Delivery.family_id)
        .join(Plot, Plot.id == Delivery.plot_id)
        .where(DeliveryFlag.cooperative_id == coop.id)
        .order_by(DeliveryFlag.kind, Family.member_code, Delivery.delivered_on)
        .limit(FLAGS_SHOWN)
    ).all()
    over: dict[tuple[int, str, str, str], dict[str, Any]] = {}
    protected = []
    for flag, delivery, member, name, plot in rows:
        if flag.kind == "over_cap":
            season = season_of(coop, delivery.delivered_on)
            key = (season, member, flag.claim_type, delivery.crop)
            entry = over.setdefault(
                key,
                {
                    "season": season,
                    "member": member,
                    "name": name,
                    "family_id": delivery.family_id,
                    "type": flag.claim_type,
                    "unit": vocabulary.reference_label(delivery.crop),
                    "deliveries": 0,
                    "grams": 0,
                    "first": delivery,
                },
            )
            entry["deliveries"] += 1
            entry["grams"] += factors.convert(
                delivery.net_g, delivery.form, str(vocabulary.REFERENCE_FORM[delivery.crop])
            )
        else:
            protected.append((delivery, member, name, plot))
    _cap_figures(session, coop, over.values())
    return {
        "over": [over[key] for key in sorted(over, key=lambda k: (-k[0], k[1:]))],
        "protected": protected,
        "labels": vocabulary.claim_names(session, coop.id),
    }


def _cap_figures(session: Session, coop: Cooperative, rows: Any) -> None:
    """Each family's cap and what it claimed within it, as the engine decided them
    (`caps.over_cap`, the season report's figures): the flagged kilos alone, headed "kg
    over the cap", read as the excess, when a delivery that does not fit loses the claim
    whole (cap 960 kg, 1,200 delivered: 240 over the cap, 300 without the claim)."""
    by_season: dict[int, dict[tuple[uuid.UUID, str, str], dict[str, Any]]] = {}
    for row in rows:
        row["cap_g"] = row["claimed_g"] = None
        key = (row["family_id"], row["type"], row["first"].crop)
        by_season.setdefault(row["season"], {})[key] = row
    for season, wanted in by_season.items():
        for use in caps.over_cap(session, coop, {key[0] for key in wanted}, season):
            row = wanted.get((use.family_id, use.claim_type, use.crop))
            if row is not None:
                row["cap_g"], row["claimed_g"] = use.cap_g, use.claimed_g


def lot_codes(session: Session, lot_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Lots' codes by id (the ledger names the lots its credit went to)."""
    if not lot_ids:
        return {}
    return dict(session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(lot_ids))).all())  # type: ignore[attr-defined]


def member_family_id(session: Session, cert: Certificate, member_code: str) -> uuid.UUID | None:
    """The id of the family with exactly this member code in the certificate's
    cooperative."""
    return session.scalars(
        select(Family.id).where(
            Family.cooperative_id == cert.cooperative_id,
            Family.member_code == member_code.strip().upper(),
        )
    ).first()


def coverage_entries_query(
    cert: Certificate, *, family_id: uuid.UUID | None = None, on: date | None = None
) -> Any:
    """The API's coverage entries (with member codes): the dated history, or with `on`
    each family's entry in force that day."""
    statement = (
        select(CoverageEntry, Family.member_code)
        .join(Family, Family.id == CoverageEntry.family_id)  # type: ignore[arg-type]
        .where(CoverageEntry.certificate_id == cert.id)
    )
    if family_id:
        statement = statement.where(CoverageEntry.family_id == family_id)
    if on:
        # The entry in force on that day: from that day or before, and no later one.
        later: Any = aliased(CoverageEntry)
        statement = statement.where(
            CoverageEntry.since <= on,
            ~exists().where(
                later.certificate_id == CoverageEntry.certificate_id,
                later.family_id == CoverageEntry.family_id,
                later.since <= on,
                or_(
                    later.since > CoverageEntry.since,
                    and_(
                        later.since == CoverageEntry.since,
                        later.created_at > CoverageEntry.created_at,
                    ),
                ),
            ),
        )
    return statement.order_by(Family.member_code, CoverageEntry.since, CoverageEntry.created_at)  # type: ignore[arg-type]
