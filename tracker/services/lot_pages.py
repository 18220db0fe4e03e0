"""What the lot pages show, read in one place: the list, the gathering form, one lot, its
genealogy, a delivery's trace, products and the dashboard panel.

Each function takes the session and returns what its template needs; the views in
`web/lots.py` only parse the request, call one of these and render.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ..formatting import largest_remainder, shown_parts
from ..models import (
    Certificate,
    Community,
    Cooperative,
    Delivery,
    Family,
    Lot,
    LotInput,
    LotOperation,
    Plot,
    ProcessingSite,
    Product,
    Shipment,
    ShipmentLot,
)
from ..models.enums import FORMS_BY_CROP, Crop, LotStatus
from . import claim_text, conversions, genealogy, lots, printing, vocabulary
from . import claims as claims_engine
from .rows import by_code

CHUNK = 900  # ids per IN (...) list: under every database's parameter limit


@dataclass(frozen=True)
class LotList:
    """One page of the cooperative's lots, with their operations and claims."""

    lots: list[Lot]
    ops: dict[uuid.UUID, LotOperation]
    claims: dict[uuid.UUID, list[Any]]
    total: int
    page: int
    pages: int


def lot_list(
    session: Session,
    coop: Cooperative,
    *,
    status: str,
    form: str,
    q: str,
    page: int,
    size: int,
) -> LotList:
    """The lots of a status and form whose code holds `q`, newest first; a page past the
    end is the last page."""
    query = select(Lot).where(Lot.cooperative_id == coop.id)
    if status in set(LotStatus):
        query = query.where(Lot.status == status)
    if form:
        query = query.where(Lot.form == form)
    if q:
        query = query.where(Lot.code.contains(q))  # type: ignore[attr-defined]
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // size))
    page = min(page, pages)
    rows = list(
        session.exec(
            query.order_by(Lot.created_at.desc(), Lot.code.desc())  # type: ignore[attr-defined]
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    return LotList(
        lots=rows,
        ops=lots.operations_of(session, rows),
        claims=claims_engine.lot_claims(session, rows),
        total=total,
        page=page,
        pages=pages,
    )


def candidates(
    session: Session,
    coop: Cooperative,
    *,
    crop: str,
    form: str,
    since: date | None,
    until: date | None,
    centre_id: uuid.UUID | None,
    limit: int,
) -> list[Any]:
    """Deliveries of this crop and form with kilos not yet in a lot, oldest first:
    (delivery, member code, head name, plot name)."""
    query = (
        select(Delivery, Family.member_code, Family.head_name, Plot.name)
        .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
        .join(Plot, Plot.id == Delivery.plot_id)  # type: ignore[arg-type]
        .where(
            Delivery.cooperative_id == coop.id,
            Delivery.crop == crop,
            Delivery.form == form,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.lotted_g < Delivery.net_g,
        )
    )
    if since:
        query = query.where(Delivery.delivered_on >= since)
    if until:
        query = query.where(Delivery.delivered_on <= until)
    if centre_id:
        query = query.where(Delivery.centre_id == centre_id)
    return list(
        session.execute(query.order_by(Delivery.delivered_on, Delivery.receipt_number).limit(limit))  # type: ignore[arg-type]
    )


def sites(session: Session, coop: Cooperative) -> list[ProcessingSite]:
    """The cooperative's processing sites, by code."""
    return by_code(session, ProcessingSite, coop.id)


def main_crop(session: Session, coop: Cooperative) -> str:
    """The crop most of the cooperative's deliveries are of (coffee when it has none)."""
    found = session.exec(
        select(Delivery.crop, func.count())
        .where(Delivery.cooperative_id == coop.id)
        .group_by(Delivery.crop)
        .order_by(func.count().desc())
    ).first()
    return found[0] if found else Crop.COFFEE


def main_form(session: Session, coop: Cooperative, crop: str) -> str:
    """The form with the most deliveries still to gather (the crop's first form if none)."""
    found = session.exec(
        select(Delivery.form, func.count())
        .where(
            Delivery.cooperative_id == coop.id,
            Delivery.crop == crop,
            Delivery.voided_at.is_(None),  # type: ignore[union-attr]
            Delivery.lotted_g < Delivery.net_g,
        )
        .group_by(Delivery.form)
        .order_by(func.count().desc(), Delivery.form)
    ).first()
    return found[0] if found else FORMS_BY_CROP[Crop(crop)][0]


def certificates_by_id(session: Session, cert_ids: set[uuid.UUID]) -> dict[uuid.UUID, Certificate]:
    """The certificates behind some claims, by id."""
    if not cert_ids:
        return {}
    return {
        c.id: c
        for c in session.exec(select(Certificate).where(Certificate.id.in_(cert_ids)))  # type: ignore[attr-defined]
    }


def claims_block(session: Session, lot: Lot) -> dict[str, Any]:
    """The lot's claims report, its claims and the certificates they rest on."""
    today = vocabulary.local_today()
    claimed, qualifications = claim_text.claims_qualified(session, [lot], today=today)
    found = claimed[lot.id]
    cert_ids = {c for claim in found for c in claim.certificate_ids}
    return {
        "report": claims_engine.explain_lot(session, lot),
        "claims": found,
        "certificates": certificates_by_id(session, cert_ids),
        # What sack labels printed today would leave out (the labels form warns of it).
        "label_claims": printing.label_claims(
            session, lot, today=today, found=found, qualified=qualifications[lot.id]
        )
        if lot.status != LotStatus.VOIDED
        else (),
    }


def lot_page(session: Session, lot: Lot, *, shown_inputs: int) -> dict[str, Any]:
    """Everything one lot's page shows: the operation that made it, its inputs (the first
    `shown_inputs` deliveries), where it went, and its claims."""
    op = session.get(LotOperation, lot.operation_id)
    assert op is not None
    edges = list(
        session.exec(
            select(LotInput).where(LotInput.operation_id == op.id, LotInput.lot_id == lot.id)
        )
    )
    delivery_ids = [e.source_delivery_id for e in edges if e.source_delivery_id][:shown_inputs]
    delivered = []
    if delivery_ids:
        rows = session.execute(
            select(Delivery, Family.member_code, Family.head_name, Plot.name)
            .join(Family, Family.id == Delivery.family_id)  # type: ignore[arg-type]
            .join(Plot, Plot.id == Delivery.plot_id)  # type: ignore[arg-type]
            .where(Delivery.id.in_(delivery_ids))  # type: ignore[attr-defined]
        ).all()
        grams = {e.source_delivery_id: e.grams for e in edges}
        delivered = sorted(
            ((d, member, name, plot, grams[d.id]) for d, member, name, plot in rows),
            key=lambda r: (r[0].delivered_on, r[0].receipt_number),
        )
    sources = [(session.get(Lot, e.source_lot_id), e.grams) for e in edges if e.source_lot_id]
    used_in = session.execute(
        select(LotInput.grams, Lot)
        .join(Lot, Lot.id == LotInput.lot_id)  # type: ignore[arg-type]
        .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
        .where(LotInput.source_lot_id == lot.id, LotOperation.voided_at.is_(None))  # type: ignore[union-attr]
        .order_by(Lot.code)
    ).all()
    shipped = session.execute(
        select(Shipment, ShipmentLot.grams)
        .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id)  # type: ignore[arg-type]
        .where(ShipmentLot.lot_id == lot.id)
        .order_by(Shipment.shipped_on)  # type: ignore[arg-type]
    ).all()
    site = session.get(ProcessingSite, op.site_id) if op.site_id else None
    outputs = operation_outputs(session, op)
    voidable = op.voided_at is None and all(
        o.status == LotStatus.OPEN and o.available_g == o.weight_g for o in outputs
    )
    return {
        "op": op,
        "site": site,
        "outputs": outputs,
        "delivered": delivered,
        "deliveries_total": sum(1 for e in edges if e.source_delivery_id),
        "sources": sources,
        "used_in": used_in,
        "shipped": shipped,
        "voidable": voidable,
        **claims_block(session, lot),
    }


def operation_outputs(session: Session, op: LotOperation) -> list[Lot]:
    """The lots an operation made, by code."""
    return list(session.exec(select(Lot).where(Lot.operation_id == op.id).order_by(Lot.code)))


def first_output(session: Session, op: LotOperation) -> Lot:
    """The operation's first lot by code: the page its void form lives on."""
    first = session.exec(select(Lot).where(Lot.operation_id == op.id).order_by(Lot.code)).first()
    assert first is not None
    return first


@dataclass(frozen=True)
class GenealogyPage:
    """A lot's ancestry: the graph, its deliveries by id, and who grew the lot."""

    graph: Any
    deliveries: dict[uuid.UUID, Delivery]
    contributions: list[genealogy.Contribution]
    families: FamilyRows


def genealogy_page(session: Session, lot: Lot) -> GenealogyPage:
    """The graph behind a lot with its deliveries, and the families that grew it."""
    graph = genealogy.graph(session, lot.id)
    delivery_ids = sorted({e.source_delivery_id for e in graph.edges if e.source_delivery_id})
    deliveries: dict[uuid.UUID, Delivery] = {}
    for start in range(0, len(delivery_ids), CHUNK):
        chunk = delivery_ids[start : start + CHUNK]
        for d in session.exec(select(Delivery).where(Delivery.id.in_(chunk))):  # type: ignore[attr-defined]
            deliveries[d.id] = d
    contributions = genealogy.contributions(session, lot.id)
    forms = {d.id: d.form for d in deliveries.values()}
    factors = conversions.load(session, lot.cooperative_id)
    return GenealogyPage(
        graph, deliveries, contributions, by_family(session, contributions, forms, factors)
    )


class FamilyRows(list[dict[str, Any]]):
    """The families that grew a lot (`by_family`), largest share first, with the kilos of
    each product form as the page prints them (`by_form`: (form, grams to 100 g), the
    total the rows add up to)."""

    by_form: list[tuple[str, int]]

    def __init__(self, rows: Sequence[dict[str, Any]], by_form: list[tuple[str, int]]) -> None:
        super().__init__(rows)
        self.by_form = by_form

    @property
    def mixed(self) -> bool:
        """Deliveries of more than one form (cherry dried and merged with parchment): their
        kilos as weighed are not added up."""
        return len(self.by_form) > 1


def _names(
    session: Session, family_ids: list[uuid.UUID], plot_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, str]]:
    """(family, community name) by family id, and plot names by id."""
    families: dict[uuid.UUID, Any] = {}
    plots: dict[uuid.UUID, str] = {}
    for start in range(0, len(family_ids), CHUNK):
        for family, community in session.execute(
            select(Family, Community.name)
            .join(Community, Community.id == Family.community_id)  # type: ignore[arg-type]
            .where(Family.id.in_(family_ids[start : start + CHUNK]))  # type: ignore[attr-defined]
        ):
            families[family.id] = (family, community)
    for start in range(0, len(plot_ids), CHUNK):
        for pid, name in session.execute(
            select(Plot.id, Plot.name).where(Plot.id.in_(plot_ids[start : start + CHUNK]))  # type: ignore[attr-defined]
        ):
            plots[pid] = name
    return families, plots


def _shown(rows: list[dict[str, Any]], forms: list[str]) -> list[tuple[str, int]]:
    """Each row's kilos of each form as printed (to 100 g), shared so that the rows add up
    to the form's total as printed, and each family's deliveries to its row: 41,125 and
    12,345 kg print 41,1 and 12,4 under 53,5, not 41,1 and 12,3. The forms' totals."""
    totals = []
    for form in forms:
        grams = {i: row["by_form"][form] for i, row in enumerate(rows) if form in row["by_form"]}
        shown = shown_parts(grams)
        totals.append((form, sum(shown.values())))
        for i, row in enumerate(rows):
            if i not in shown:
                continue
            row["shown"][form] = shown[i]
            mine = {n: c.grams for n, (c, f) in enumerate(row["deliveries"]) if f == form}
            if sum(mine.values()) > 0:
                units = largest_remainder(shown[i] // 100, mine)
                row["delivery_shown"].update({n: u * 100 for n, u in units.items()})
    return totals


def by_family(
    session: Session,
    contributions: Sequence[genealogy.Contribution],
    forms: dict[uuid.UUID, str] | None = None,
    factors: conversions.Factors | None = None,
) -> FamilyRows:
    """Who grew the lot: families with their community, plots, deliveries and kilos
    (by product form, `forms` of each delivery), the largest share first (in the crop's
    ledger unit through the cooperative's `factors`, so 500 kg of cherry do not outweigh
    200 kg of parchment)."""
    forms = forms or {}
    factors = factors or conversions.Factors(dict(conversions.DEFAULT_PPM))
    if not contributions:
        return FamilyRows([], [])
    families, plots = _names(
        session,
        sorted({c.family_id for c in contributions}),
        sorted({c.plot_id for c in contributions}),
    )
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for c in contributions:
        family, community = families[c.family_id]
        row = rows.setdefault(
            c.family_id,
            {
                "family": family,
                "community": community,
                "plots": set(),
                "deliveries": [],
                "grams": 0,
                "by_form": {},
                "shown": {},
                "delivery_shown": {},
                "reference": 0,
            },
        )
        form = forms.get(c.delivery_id, "")
        row["plots"].add(plots.get(c.plot_id, ""))
        row["deliveries"].append((c, form))
        row["grams"] += c.grams
        row["by_form"][form] = row["by_form"].get(form, 0) + c.grams
        row["reference"] += factors.to_ledger(form, c.grams)
    ordered = sorted(rows.values(), key=lambda r: (-r["reference"], r["family"].member_code))
    chain = [str(f) for crop in Crop for f in FORMS_BY_CROP[crop]]
    used = sorted({f for row in ordered for f in row["by_form"]}, key=_chain_index(chain))
    totals = _shown(ordered, used)
    for row in ordered:
        row["deliveries"] = [
            (c, form, row["delivery_shown"].get(n, 0))
            for n, (c, form) in enumerate(row["deliveries"])
        ]
    return FamilyRows(ordered, totals)


def _chain_index(chain: list[str]) -> Any:
    """Sort key: a form's place in its crop's chain (cherry before parchment)."""
    return lambda form: (chain.index(form) if form in chain else len(chain), form)


def delivery_trace(session: Session, delivery: Delivery) -> tuple[list[Lot], list[Shipment]]:
    """The lots a delivery went into (by code) and the shipments that carried them."""
    found = genealogy.forward(session, delivery_id=delivery.id)
    made = sorted((session.get(Lot, i) for i in found.lot_ids), key=lambda lot: lot.code)  # type: ignore[union-attr]
    shipments = sorted(
        (session.get(Shipment, i) for i in found.shipment_ids),
        key=lambda s: s.shipped_on,  # type: ignore[union-attr]
    )
    return made, shipments  # type: ignore[return-value]


def product_rows(session: Session, coop: Cooperative) -> list[tuple[str, str, Product | None]]:
    """Every crop and form, with the cooperative's product for it when there is one."""
    existing = {
        (p.crop, p.form): p
        for p in session.exec(select(Product).where(Product.cooperative_id == coop.id))
    }
    return [
        (crop, form, existing.get((crop, form))) for crop in Crop for form in FORMS_BY_CROP[crop]
    ]


def panel(session: Session, coop: Cooperative) -> dict[str, Any]:
    """The dashboard panel: open kilos by product form, and the latest lots."""
    open_by_form = session.execute(
        select(Lot.form, func.count(), func.sum(Lot.available_g))
        .where(Lot.cooperative_id == coop.id, Lot.status == LotStatus.OPEN)
        .group_by(Lot.form)
        .order_by(Lot.form)
    ).all()
    latest = session.exec(
        select(Lot)
        .where(Lot.cooperative_id == coop.id, Lot.status != LotStatus.VOIDED)
        .order_by(Lot.created_at.desc())  # type: ignore[attr-defined]
        .limit(5)
    ).all()
    return {"open_by_form": open_by_form, "latest": latest}


def lots_query(coop: Cooperative, filters: dict[str, Any]) -> Any:
    """The API's list of lots: by status, crop, form, season and code, newest first."""
    statement = select(Lot).where(Lot.cooperative_id == coop.id)
    for name in ("status", "crop", "form", "season"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Lot, name) == filters[name])
    if filters.get("q"):
        statement = statement.where(Lot.code.contains(filters["q"].strip().upper()))  # type: ignore[attr-defined]
    return statement.order_by(Lot.created_at.desc(), Lot.code.desc())  # type: ignore[attr-defined]


def forward_records(session: Session, found: genealogy.Forward) -> tuple[list[Lot], list[Shipment]]:
    """The lots and shipments a forward trace names."""
    return (
        [session.get(Lot, i) for i in found.lot_ids],  # type: ignore[misc]
        [session.get(Shipment, i) for i in found.shipment_ids],  # type: ignore[misc]
    )


def products(session: Session, coop: Cooperative) -> list[Product]:
    """The cooperative's products, by crop and form."""
    return list(
        session.exec(
            select(Product)
            .where(Product.cooperative_id == coop.id)
            .order_by(Product.crop, Product.form)
        )
    )
