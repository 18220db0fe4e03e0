"""Forming a lot by claim: which deliveries match a manager's filters, what they weigh
together, and what a lot made of them will carry (issue 15.1).

The same `Filters` serve the lot-forming page and the API's list of deliveries. Everything
is set-based: "all that match" is a subquery of the filter, resolved to ids only in the
transaction that makes the lot, so 35,000 ids never travel through the browser. The
preview asks the claims engine (`claims.LotContext`) with the counts the new lot will
have, so the page says exactly what `claims.lot_claims` answers once the lot is saved.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, cast

import sqlmodel
from flask_babel import format_number, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, false, func, or_, select
from sqlmodel import Session, col

from ..models import (
    Certificate,
    CollectionCentre,
    Community,
    Cooperative,
    Delivery,
    DeliveryClaim,
    Family,
    Lot,
    Plot,
)
from ..models.enums import FORMS_BY_CROP, Basis, Crop
from . import claims, vocabulary
from .errors import ValidationFailed

PAGE_SIZE = 100  # rows of the lot-forming page: never more (issue 15: 100 at most)
SHOWN_LOSERS = 20  # deliveries linked per lost claim in the preview


@dataclass(frozen=True)
class Filters:
    """What a manager (or an API caller) narrows the deliveries to."""

    crop: str | None = None
    form: str | None = None
    claims: tuple[str, ...] = ()
    basis: str | None = None
    centre_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None
    grade: str | None = None
    community_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    q: str | None = None
    available: bool = False


def filters_from(
    session: Session,
    coop: Cooperative,
    args: dict[str, Any],
    *,
    centre_id: uuid.UUID | None = None,
    available: bool | None = None,
    until_field: str = "until",
) -> Filters:
    """Filters from a loaded filter schema (schemas/lot_forming.py), refusing with the
    field named what the cooperative does not have: a claim type, a community, a centre,
    a form of another crop, dates the wrong way round."""
    errors: dict[str, list[str]] = {}
    wanted = tuple(dict.fromkeys(args.get("claim") or []))
    known = known_claim_types(session, coop)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        errors["claim"] = [str(_l("Unknown claim: %(claims)s.", claims=", ".join(unknown)))]
    community_id = args.get("community_id")
    if community_id is not None and not session.scalar(
        select(func.count()).where(
            col(Community.id) == community_id, col(Community.cooperative_id) == coop.id
        )
    ):
        errors["community_id"] = [str(_l("Unknown community."))]
    if args.get("centre") is not None and centre_id is None:
        centre_id = args["centre"]
        if not session.scalar(
            select(func.count()).where(
                col(CollectionCentre.id) == centre_id,
                col(CollectionCentre.cooperative_id) == coop.id,
            )
        ):
            errors["centre"] = [str(_l("Unknown collection centre."))]
    crop, form = args.get("crop"), args.get("form")
    if crop and form and form not in FORMS_BY_CROP[Crop(crop)]:
        errors["form"] = [str(_l("This product form does not exist for this crop."))]
    since, until = args.get("since"), args.get("until")
    if since and until and until < since:
        errors[until_field] = [str(_l("The last day is before the first."))]
    if errors:
        raise ValidationFailed(errors)
    return Filters(
        crop=crop,
        form=form,
        claims=wanted,
        basis=args.get("basis"),
        centre_id=centre_id,
        since=since,
        until=until,
        grade=args.get("grade"),
        community_id=community_id,
        family_id=args.get("family_id"),
        q=args.get("q"),
        available=bool(args.get("available")) if available is None else available,
    )


def _carries(coop: Cooperative, claim_type: str | None, basis: str | None) -> Any:
    """The delivery carries a claim of this type (any when None) on this basis: a
    semi-join through the certificates of that type (a handful), on the claims' index."""
    certs = select(col(Certificate.id)).where(col(Certificate.cooperative_id) == coop.id)
    if claim_type:
        certs = certs.where(col(Certificate.type) == claim_type)
    if basis:
        certs = certs.where(col(Certificate.basis) == basis)
    return col(Delivery.id).in_(
        select(col(DeliveryClaim.delivery_id)).where(col(DeliveryClaim.certificate_id).in_(certs))
    )


def _conditions(coop: Cooperative, filters: Filters) -> list[Any]:
    where: list[Any] = [col(Delivery.cooperative_id) == coop.id]
    if filters.available:
        where += [col(Delivery.voided_at).is_(None), col(Delivery.lotted_g) < col(Delivery.net_g)]
    if filters.crop:
        where.append(col(Delivery.crop) == filters.crop)
    if filters.form:
        where.append(col(Delivery.form) == filters.form)
    for claim_type in filters.claims:
        where.append(_carries(coop, claim_type, filters.basis))
    if filters.basis and not filters.claims:
        where.append(_carries(coop, None, filters.basis))
    if filters.centre_id:
        where.append(col(Delivery.centre_id) == filters.centre_id)
    if filters.since:
        where.append(col(Delivery.delivered_on) >= filters.since)
    if filters.until:
        where.append(col(Delivery.delivered_on) <= filters.until)
    if filters.grade:
        where.append(col(Delivery.grade) == filters.grade)
    if filters.family_id:
        where.append(col(Delivery.family_id) == filters.family_id)
    if filters.community_id:
        where.append(
            col(Delivery.family_id).in_(
                select(col(Family.id)).where(
                    col(Family.cooperative_id) == coop.id,
                    col(Family.community_id) == filters.community_id,
                )
            )
        )
    if filters.q:
        text = filters.q.strip().upper()
        where.append(
            or_(
                func.upper(col(Delivery.receipt_number)) == text,
                col(Delivery.family_id).in_(
                    select(col(Family.id)).where(
                        col(Family.cooperative_id) == coop.id,
                        func.upper(col(Family.member_code)) == text,
                    )
                ),
            )
        )
    return where


def delivery_query(coop: Cooperative, filters: Filters) -> Any:
    """The API's list: the cooperative's deliveries matching the filters, newest first."""
    return (
        sqlmodel.select(Delivery)  # sqlmodel's: paging.rows gives Delivery records
        .where(*_conditions(coop, filters))
        .order_by(col(Delivery.delivered_on).desc(), col(Delivery.created_at).desc())
    )


def _forming(filters: Filters) -> Filters:
    """The lot-forming page lists only what can go into a lot."""
    return replace(filters, available=True)


def matching_ids_query(coop: Cooperative, filters: Filters) -> Any:
    """The ids of the deliveries "all that match" takes: a subquery, never a list."""
    return select(col(Delivery.id)).where(*_conditions(coop, _forming(filters)))


def matching_ids(session: Session, coop: Cooperative, filters: Filters) -> list[uuid.UUID]:
    """Resolve "all that match" in the transaction that makes the lot."""
    return list(session.scalars(matching_ids_query(coop, filters).order_by(col(Delivery.id))))


# -- what is selected weighs ------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    deliveries: int
    grams: int
    families: int
    form: str | None = None

    @property
    def kg(self) -> str:
        return vocabulary.kg_for_people(self.grams)

    @property
    def quintals(self) -> str | None:
        return vocabulary.quintals(self.grams, self.form) if self.form else None


def _selection(coop: Cooperative, ids: list[uuid.UUID] | None, filters: Filters) -> Any:
    """A subquery of delivery ids: the picked ones (still available) or all that match."""
    if ids is None:
        return matching_ids_query(coop, filters)
    return select(col(Delivery.id)).where(
        *_conditions(coop, Filters(available=True)), col(Delivery.id).in_(ids)
    )


def totals(
    session: Session,
    coop: Cooperative,
    filters: Filters,
    ids: list[uuid.UUID] | None = None,
    typed: dict[uuid.UUID, int] | None = None,
) -> Totals:
    """Deliveries, kilos still to gather and families of a selection, in one query; with
    `typed`, the kilos the manager typed for those deliveries (the lot's own)."""
    if ids is not None and not ids:
        return Totals(0, 0, 0, filters.form)
    if ids is None:
        where = _conditions(coop, _forming(filters))
    else:
        where = [*_conditions(coop, Filters(available=True)), col(Delivery.id).in_(ids)]
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(col(Delivery.net_g) - col(Delivery.lotted_g)), 0),
            func.count(func.distinct(col(Delivery.family_id))),
        ).where(*where)
    ).one()
    found = Totals(int(row[0]), int(row[1]), int(row[2]), filters.form)
    return _typed(session, found, typed, where) if typed else found


def _typed(
    session: Session, found: Totals, typed: dict[uuid.UUID, int], where: list[Any]
) -> Totals:
    """The totals with the kilos a manager typed for some deliveries instead of what is
    left of them (never more than what is left: `create_lot` refuses more). Only the
    deliveries the totals count (`where`): an id typed for another cooperative's delivery,
    or one not in the selection, changes nothing."""
    grams = found.grams
    for delivery_id, left in session.execute(
        select(col(Delivery.id), col(Delivery.net_g) - col(Delivery.lotted_g)).where(
            col(Delivery.id).in_(list(typed)), *where
        )
    ):
        grams += min(typed[delivery_id], int(left)) - int(left)
    return replace(found, grams=grams)


# -- the page -----------------------------------------------------------------------------


@dataclass
class Row:
    delivery: Delivery
    member_code: str
    head_name: str
    plot_name: str
    community: str
    claims: list[claims.Claim]

    @property
    def left_g(self) -> int:
        return self.delivery.net_g - self.delivery.lotted_g


@dataclass
class FormingPage:
    rows: list[Row]
    page: int
    pages: int
    matching: Totals


def forming_page(
    session: Session, coop: Cooperative, filters: Filters, *, page: int, size: int = PAGE_SIZE
) -> FormingPage:
    """One page (at most `size` rows, oldest first) of the deliveries that can go into a lot
    and match the filters, with their claims, and the totals of all that match."""
    size = min(size, PAGE_SIZE)
    matching = totals(session, coop, filters)
    pages = max(1, math.ceil(matching.deliveries / size))
    page = max(1, min(page, pages))
    order = (col(Delivery.delivered_on), col(Delivery.receipt_number), col(Delivery.id))
    # The page's ids first (the index and the filter alone), then their rows with names.
    shown = (
        select(col(Delivery.id))
        .where(*_conditions(coop, _forming(filters)))
        .order_by(*order)
        .offset((page - 1) * size)
        .limit(size)
    )
    query = (
        select(
            Delivery,
            col(Family.member_code),
            col(Family.head_name),
            col(Plot.name),
            col(Community.name),
        )
        .join(Family, col(Family.id) == col(Delivery.family_id))
        .join(Plot, col(Plot.id) == col(Delivery.plot_id))
        .join(Community, col(Community.id) == col(Family.community_id))
        .where(col(Delivery.id).in_(list(session.scalars(shown))))
        .order_by(*order)
    )
    found = list(session.execute(query))
    carried = claims.delivery_claims(session, [r[0].id for r in found]) if found else {}
    rows = [
        Row(d, member, head, plot, community, carried.get(d.id, []))
        for d, member, head, plot, community in found
    ]
    return FormingPage(rows, page, pages, matching)


@dataclass
class Choices:
    """What the filters offer: claim types the cooperative's certificates give, grades,
    communities."""

    claim_types: list[str]
    grades: list[str]
    communities: list[tuple[uuid.UUID, str]]


def choices(session: Session, coop: Cooperative, crop: str | None) -> Choices:
    types = sorted(
        set(
            session.scalars(
                select(col(Certificate.type)).where(col(Certificate.cooperative_id) == coop.id)
            )
        )
    )
    grade_query = select(col(Delivery.grade)).where(
        col(Delivery.cooperative_id) == coop.id, col(Delivery.grade) != ""
    )
    if crop:
        grade_query = grade_query.where(col(Delivery.crop) == crop)
    grades = sorted(set(session.scalars(grade_query.distinct())))
    communities = [
        (row[0], row[1])
        for row in session.execute(
            select(col(Community.id), col(Community.name))
            .where(col(Community.cooperative_id) == coop.id)
            .order_by(col(Community.name))
        )
    ]
    return Choices(types, grades, communities)


def known_claim_types(session: Session, coop: Cooperative) -> set[str]:
    """Claim types a filter may name: built in, and the kinds the cooperative added."""
    return set(vocabulary.claim_names(session, coop.id))


# -- the preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """The lot about to be made, as the claims engine reads a lot."""

    id: uuid.UUID
    cooperative_id: uuid.UUID
    crop: str
    form: str
    voided_at: None = None


@dataclass
class Loss:
    """A claim some of the selected deliveries carry and the lot will not."""

    type: str
    deliveries: int  # selected deliveries without it (0: no one certificate covers them all)
    shown: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (id, receipt)


@dataclass
class Preview:
    carries: list[claims.Claim]
    losses: list[Loss]
    mass_balance: list[str]  # types the deliveries carry on mass balance: allocated later
    totals: Totals
    names: dict[str, str]

    def name(self, claim_type: str) -> str:
        """The claim's name as a sentence starts it ("Orgánico")."""
        name = self.names.get(claim_type, claim_type)
        return name[:1].upper() + name[1:]

    def sentence(self) -> str:
        """ "Organic (segregated), Fair trade (segregated); loses Kosher: 3 deliveries
        without coverage", in the reader's language."""
        held = ", ".join(
            str(
                _l(
                    "%(claim)s (%(basis)s)",
                    claim=self.name(c.type),
                    basis=vocabulary.label(vocabulary.BASIS_LABELS, c.basis),
                )
            )
            for c in self.carries
        )
        text = held or str(_l("No claim"))
        lost = []
        for loss in self.losses:
            if loss.deliveries:
                lost.append(
                    str(
                        lazy_ngettext(
                            "loses %(claim)s by %(count)s delivery without coverage",
                            "loses %(claim)s by %(count)s deliveries without coverage",
                            loss.deliveries,
                            claim=self.name(loss.type),
                            count=format_number(loss.deliveries),
                        )
                    )
                )
            else:
                lost.append(
                    str(
                        _l(
                            "loses %(claim)s: no one certificate in scope covers every delivery",
                            claim=self.name(loss.type),
                        )
                    )
                )
        return "; ".join([text, *lost])


def preview(
    session: Session,
    coop: Cooperative,
    *,
    crop: str,
    form: str,
    filters: Filters,
    ids: list[uuid.UUID] | None = None,
    typed: dict[uuid.UUID, int] | None = None,
) -> Preview:
    """What a lot of these deliveries (picked ids, or all that match) will carry once
    made, by the claims engine's own rules (segregation through one certificate covering
    every delivery, in scope for the lot's crop and form), and what it loses and why."""
    chosen = _selection(coop, ids, filters)
    weighed = totals(session, coop, filters, ids, typed)
    counts: dict[uuid.UUID, int] = {}
    for cert_id, n in session.execute(
        select(col(DeliveryClaim.certificate_id), func.count())
        .where(col(DeliveryClaim.delivery_id).in_(chosen))
        .group_by(col(DeliveryClaim.certificate_id))
    ):
        counts[cert_id] = int(n)
    draft = _Draft(uuid.uuid4(), coop.id, crop, form)
    context = claims.LotContext(session, coop.id, [])
    context.counts[draft.id] = counts
    context.totals[draft.id] = weighed.deliveries
    context.draft_inputs[draft.id] = chosen  # a renewal chain is counted on these
    carries = context.claims(cast(Lot, draft)) if weighed.deliveries else []
    held = {c.type for c in carries}
    segregated_types: set[str] = set()
    mb_types: set[str] = set()
    for cert_id in counts:
        cert = context.certs.get(cert_id)
        if cert is None:
            continue
        if cert.basis == Basis.SEGREGATED:
            segregated_types.add(cert.type)
        else:
            mb_types.add(cert.type)
    losses = [
        _loss(session, chosen, claim_type, context, crop, form)
        for claim_type in sorted(segregated_types - held)
    ]
    return Preview(
        carries,
        losses,
        sorted(mb_types - held),
        weighed,
        vocabulary.claim_names(session, coop.id),
    )


def _loss(
    session: Session,
    chosen: Any,
    claim_type: str,
    context: claims.LotContext,
    crop: str,
    form: str,
) -> Loss:
    """The selected deliveries without a segregated claim of this type in the lot's scope."""
    usable = [
        c.id
        for c in context.certs.values()
        if c.type == claim_type and c.basis == Basis.SEGREGATED and c.in_scope(crop, form)
    ]
    covered = exists(
        select(1).where(
            col(DeliveryClaim.delivery_id) == col(Delivery.id),
            col(DeliveryClaim.certificate_id).in_(usable) if usable else false(),
        )
    )
    without = select(col(Delivery.id), col(Delivery.receipt_number)).where(
        col(Delivery.id).in_(chosen), ~covered
    )
    count = session.execute(select(func.count()).select_from(without.subquery())).scalar_one()
    shown = [
        (row[0], row[1])
        for row in session.execute(
            without.order_by(col(Delivery.delivered_on), col(Delivery.receipt_number)).limit(
                SHOWN_LOSERS
            )
        )
    ]
    return Loss(claim_type, int(count), shown)
