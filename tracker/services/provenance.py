"""A lot's PUBLIC facts: the one whitelist behind the QR page, its JSON and the sheet.

Everything a buyer may see about a lot is computed here and nothing else: the page, the
JSON (through schemas/public.py), the provenance sheet and the labels all read a
`Provenance`. Private columns (national ID, phone, an unconsented name, the price paid
to one family, member codes, receipt numbers, internal ids of families and deliveries)
are never read into it, so no template can leak them by mistake.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep
from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..models import (
    Certificate,
    CertificateDocument,
    CertificateKind,
    Community,
    Cooperative,
    Delivery,
    Family,
    Lot,
    LotOperation,
    Plot,
    PlotFlag,
    ProcessingSite,
    Product,
    Shipment,
)
from ..models.enums import OperationKind, PlotFlagKind
from . import certificates as certificates_service
from . import claim_text, genealogy, geo, lots, vocabulary
from . import claims as claims_service
from .bulk import chunks
from .provenance_types import (
    MIN_FAMILIES_FOR_PRICE,
    CertificateFacts,
    ClaimFacts,
    Deforestation,
    Journey,
    MapPlot,
    Origin,
    Place,
    PriceFacts,
    Provenance,
    PublicLinks,
    ShipmentFacts,
    Step,
)
from .publication import lot_row
from .rows import from_row

# EUDR (Regulation (EU) 2023/1115): no deforestation after this date.
CUTOFF = date(2020, 12, 31)


def _token_query():
    return (
        select(Lot.id, Lot.cooperative_id, Cooperative.public_version)
        .join(Cooperative, Cooperative.id == Lot.cooperative_id)  # type: ignore[arg-type]
        .where(Lot.public_token == bindparam("token"), Lot.voided_at.is_(None))  # type: ignore[union-attr]
    )


class TokenLookup:
    """(lot id, cooperative id, public version) of the live lot with a public token, by
    exact match on its unique index: the one query a cached public page costs.

    The statement is compiled once for the engine's dialect and run on a pooled DBAPI
    connection (no ORM session, no explicit transaction): about 30 us on SQLite where a
    session costs a millisecond. `statements` counts the queries it ran."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        compiled = _token_query().compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positiontup)
        self.statements = 0

    def __call__(self, token: str) -> tuple[uuid.UUID, uuid.UUID, int] | None:
        params: Any = (token,) if self.positional else {"token": token}
        row = lot_row(self.engine, self.sql, params)
        self.statements += 1
        return row


def qr_uri(base: str, lot: Lot) -> str:
    """What the lot's QR code carries: its GS1 Digital Link once the lot is published (the
    resolver opens only published lots), else its token page, which always opens."""
    link = lots.digital_link(base, lot) if lot.published_at is not None else None
    return link or lots.public_url(base, lot)


def certificate_facts(
    session: Session, certificates: Sequence[Certificate], day: date
) -> dict[uuid.UUID, CertificateFacts]:
    """The public view of some certificates, with today's status and whether a PDF exists."""
    statuses = certificates_service.standings(session, certificates, day)
    ids = [c.id for c in certificates]
    with_document = (
        set(
            session.scalars(
                select(CertificateDocument.certificate_id).where(
                    CertificateDocument.certificate_id.in_(ids)  # type: ignore[attr-defined]
                )
            )
        )
        if ids
        else set()
    )
    return {
        c.id: from_row(
            CertificateFacts,
            c,
            status=statuses[c.id].status,
            has_document=c.id in with_document,
            since=statuses[c.id].since,
        )
        for c in certificates
    }


def kind_names(session: Session, cooperative_id: uuid.UUID) -> dict[str, tuple[str, str]]:
    """Names (Spanish, English) of the certificate types a manager added."""
    return {
        code: (es, en)
        for code, es, en in session.execute(
            select(CertificateKind.code, CertificateKind.name_es, CertificateKind.name_en).where(
                CertificateKind.cooperative_id == cooperative_id
            )
        )
    }


def _rows(
    session: Session,
    columns: Sequence[Any],
    key: Any,
    ids: Iterable[uuid.UUID],
    *,
    join: tuple[Any, Any] | None = None,
) -> list:
    """SELECT columns WHERE key IN ids, in chunks under every database's parameter limit."""
    ordered = sorted(set(ids))
    found: list = []
    for chunk in chunks(ordered):
        query = select(*columns)
        if join is not None:
            query = query.join(*join)
        found.extend(session.execute(query.where(key.in_(chunk))).all())
    return found


def _plots(
    session: Session, area: BaseGeometry | None, plot_ids: set[uuid.UUID]
) -> tuple[list[MapPlot], list[tuple], Deforestation]:
    """The map's plots, their rows, and the deforestation statement (rule 5).

    A plot counts as flagged while an unresolved protected-area flag stands on it; a plot
    that was never checked is tested against the protected area's boundary here.
    """
    rows = _rows(
        session,
        [Plot.id, Plot.geometry_geojson, Plot.altitude_m, Plot.area_m2],
        Plot.id,
        plot_ids,
    )
    flags: dict[uuid.UUID, bool] = {}
    for chunk in chunks(sorted(plot_ids)):
        for plot_id, resolved_at in session.execute(
            select(PlotFlag.plot_id, PlotFlag.resolved_at).where(
                PlotFlag.plot_id.in_(chunk),  # type: ignore[attr-defined]
                PlotFlag.kind == PlotFlagKind.PROTECTED_AREA,
            )
        ):
            flags[plot_id] = flags.get(plot_id, False) or resolved_at is None
    prepared = prep(area) if area is not None else None
    plots: list[MapPlot] = []
    flagged = without = 0
    for plot_id, geojson, altitude, area_m2 in sorted(rows, key=lambda r: str(r[0])):
        geometry = json.loads(geojson) if geojson else None
        if plot_id in flags:
            is_flagged = flags[plot_id]
        elif geometry is not None and prepared is not None and area is not None:
            is_flagged = _near(geometry, area.bounds) and _inside(shape(geometry), area, prepared)
        else:
            is_flagged = False
        flagged += is_flagged
        if geometry is None:
            without += 1
            continue
        plots.append(MapPlot(geometry, bool(is_flagged), round(area_m2 / 10_000, 4), altitude))
    statement = Deforestation(CUTOFF, len(rows), flagged, without)
    return plots, rows, statement


def _near(geometry: dict[str, Any], bounds: tuple[float, ...]) -> bool:
    """Whether a plot's bounding box meets the area's: most plots are tested by this alone."""
    west, south, east, north = bounds
    coords = geometry.get("coordinates") or []
    points = [coords] if geometry.get("type") == "Point" else [p for ring in coords for p in ring]
    lons = [float(p[0]) for p in points]
    lats = [float(p[1]) for p in points]
    return (
        bool(lons)
        and min(lons) <= east
        and max(lons) >= west
        and min(lats) <= north
        and max(lats) >= south
    )


def _inside(plot: BaseGeometry, area: BaseGeometry, prepared: Any) -> bool:
    return bool(prepared.intersects(plot)) and geo.overlaps(plot, area)


def _steps(session: Session, lot: Lot) -> tuple[list[Step], list[ShipmentFacts]]:
    """The operations on the way to this lot, grouped by stage, and where it was shipped."""
    # The lot and its ancestors (one recursive query), each with how far back it lies, the
    # operation that made it and where: plain rows, no ORM objects (a big lot has hundreds
    # of ancestors).
    generations = genealogy.generations(session, lot.id)
    made_rows = _rows(
        session,
        [
            Lot.id,
            Lot.code,
            Lot.form,
            Lot.weight_g,
            Lot.site_id,
            LotOperation.kind,
            LotOperation.process,
            LotOperation.occurred_on,
            LotOperation.site_id,
            LotOperation.voided_at,
        ],
        Lot.id,
        generations,
        join=(LotOperation, LotOperation.id == Lot.operation_id),
    )
    site_ids = {row[8] or row[4] for row in made_rows} - {None}
    sites = dict(
        _rows(session, [ProcessingSite.id, ProcessingSite.name], ProcessingSite.id, site_ids)
    )
    steps = _grouped(lot, made_rows, sites, generations)
    # Where the lot went: its own shipments and those of the lots made from it.
    shipped = genealogy.forward(session, lot_id=lot.id).shipment_ids
    shipments = sorted(
        {
            ShipmentFacts(on, country)
            for on, country in _rows(
                session, [Shipment.shipped_on, Shipment.buyer_country], Shipment.id, shipped
            )
        },
        key=lambda s: (s.shipped_on, s.country),
    )
    return steps, shipments


def _grouped(
    lot: Lot, made_rows: list, sites: dict[uuid.UUID, str], generations: dict[uuid.UUID, int]
) -> list[Step]:
    """One step per kind of operation, in the order they happened: by the day of a step's
    last operation and, on one day, by genealogy (an operation on lots further back from
    this one first), so a merge never reads before the processing of one of its inputs."""
    groups: dict[tuple, dict[str, Any]] = {}
    for lot_id, code, form, weight_g, lot_site, kind, process, on, op_site, voided in made_rows:
        if voided is not None:
            continue
        key = (kind, process, form, lot_id == lot.id)
        group = groups.setdefault(
            key,
            {"lots": 0, "first": on, "last": on, "back": 0, "g": 0, "sites": set(), "codes": []},
        )
        # How far back the step's last operation lies: its nearest lot on its last day.
        back = generations[lot_id]
        if on > group["last"] or group["lots"] == 0:
            group["back"] = back
        elif on == group["last"]:
            group["back"] = min(group["back"], back)
        group["lots"] += 1
        group["first"] = min(group["first"], on)
        group["last"] = max(group["last"], on)
        group["g"] += weight_g
        site = op_site or lot_site
        if site in sites:
            group["sites"].add(sites[site])
        group["codes"].append(code)
    order = {OperationKind.CREATE: 0, OperationKind.SPLIT: 1, OperationKind.MERGE: 1}
    return [
        Step(
            kind=kind,
            process=process,
            form=form,
            lots=g["lots"],
            first_on=g["first"],
            last_on=g["last"],
            weight_g=g["g"],
            sites=tuple(sorted(g["sites"])),
            codes=tuple(sorted(g["codes"])),
        )
        for (kind, process, form, _focus), g in sorted(
            groups.items(),
            key=lambda item: (
                item[0][3],
                item[1]["last"],
                -item[1]["back"],
                order.get(item[0][0], 2),
                item[1]["first"],
            ),
        )
    ]


# A part's share of its delivery's amount is kept in millionths of a minor unit: exact
# enough for any sum of parts, and integers (Fractions over every delivery's own net
# weight grow their denominators with each part added).
SHARE_SCALE = 1_000_000


def _per_kg(scaled_minor: int, grams: int) -> Decimal:
    """Minor units (in SHARE_SCALE parts) paid for these grams: a per-kg price in major
    units, 2 decimals."""
    exact = Decimal(scaled_minor) * 1000 / Decimal(grams) / 100 / SHARE_SCALE
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Part(NamedTuple):
    """A delivery in the lot, with the grams of it the lot holds (as weighed)."""

    delivery_id: uuid.UUID
    family_id: uuid.UUID
    plot_id: uuid.UUID
    delivered_on: date
    form: str
    # What the family was paid for the whole delivery at the scale (exact, quintal prices
    # included), its net weight, and whether the price is still to be set.
    amount: int
    premium: int
    net_g: int
    price_pending: bool
    grams: int


def _parts(session: Session, lot: Lot) -> list[_Part]:
    """The lot's deliveries through its whole genealogy (one recursive query), with what
    the page needs of each (one query per 900 deliveries)."""
    grams = genealogy.backward(session, [lot.id])[lot.id]
    rows = _rows(
        session,
        [
            Delivery.id,
            Delivery.family_id,
            Delivery.plot_id,
            Delivery.delivered_on,
            Delivery.form,
            Delivery.amount_minor,
            Delivery.premium_minor,
            Delivery.net_g,
            Delivery.price_pending,
        ],
        Delivery.id,
        grams,
    )
    return [
        _Part(d, family, plot, on, form, amount, premium, net, pending, grams[d])
        for d, family, plot, on, form, amount, premium, net, pending in rows
        if grams.get(d, 0) > 0
    ]


def facts(session: Session, lot: Lot, *, public_url: str, today: date | None = None) -> Provenance:
    """Compute the public facts of a lot (a handful of queries, whatever its size).

    `public_url` is the host printed in QR codes (TRACKER_PUBLIC_URL).
    """
    day = today or vocabulary.local_today()
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    parts = _parts(session, lot)
    origin, plots, deforestation, area = _origin(session, coop, parts)
    prices, withheld = _prices(coop, parts)
    steps, shipments = _steps(session, lot)
    days = [p.delivered_on for p in parts]
    journey = Journey(
        first_delivery=min(days) if days else None,
        last_delivery=max(days) if days else None,
        deliveries=len(parts),
        steps=steps,
        shipments=shipments,
    )
    product = session.execute(
        select(Product.name).where(
            Product.cooperative_id == coop.id, Product.crop == lot.crop, Product.form == lot.form
        )
    ).scalar_one_or_none()
    return Provenance(
        token=lot.public_token,
        code=lot.code,
        crop=lot.crop,
        form=lot.form,
        weight_g=lot.weight_g,
        gtin=lot.gtin if lot.gtin and lots.gs1.is_valid_gtin(lot.gtin) else None,
        season=lot.season,
        product_name=product or "",
        cooperative=coop.name,
        country=coop.country,
        today=day,
        origin=origin,
        plots=plots,
        claims=_claims(session, lot, day, harvest={lot.id: days}),
        kind_names=kind_names(session, coop.id),
        journey=journey,
        prices=prices,
        price_hidden=not prices,
        prices_withheld=withheld,
        prices_pending_g=sum(p.grams for p in parts if p.price_pending),
        deforestation=deforestation,
        uri=qr_uri(public_url, lot),
        protected_area=dict(mapping(area)) if area is not None and plots else None,
        links=PublicLinks.by_token(public_url, lot.public_token),
    )


def _origin(
    session: Session, coop: Cooperative, parts: list[_Part]
) -> tuple[Origin, list[MapPlot], Deforestation, BaseGeometry | None]:
    """Where a lot's parts come from: its families (public columns only), their
    communities, plots and deforestation check, and the protected area they were checked
    against."""
    # Only the public columns of families: never national_id, phone or member_code.
    family_rows = _rows(
        session,
        [
            Family.id,
            Family.head_name,
            Family.woman_led,
            Family.public_name_consent,
            Family.community_id,
        ],
        Family.id,
        {p.family_id for p in parts},
    )
    community_rows = _rows(
        session,
        [Community.name, Community.district, Community.province, Community.region],
        Community.id,
        {row[4] for row in family_rows},
    )
    area = protected_shape(coop)
    plots, plot_rows, deforestation = _plots(session, area, {p.plot_id for p in parts})
    altitudes = [row[2] for row in plot_rows if row[2] is not None]
    places = sorted({Place(*row) for row in community_rows}, key=lambda p: (p.region, p.name))
    origin = Origin(
        communities=places,
        regions=sorted({p.region for p in places if p.region}),
        altitude_min=min(altitudes) if altitudes else None,
        altitude_max=max(altitudes) if altitudes else None,
        families=len(family_rows),
        woman_led=sum(1 for row in family_rows if row[2]),
        consented_names=sorted(row[1] for row in family_rows if row[3]),
        plots=len(plot_rows),
        area_m2=sum(row[3] for row in plot_rows),
    )
    return origin, plots, deforestation, area


def _prices(coop: Cooperative, parts: list[_Part]) -> tuple[list[PriceFacts], int]:
    """What a lot's families were paid per kg, per delivered form, and how many forms were
    left out: a form's average is published only when at least MIN_FAMILIES_FOR_PRICE
    families delivered it, or one family's own price could be read off it (a lot of
    thirty families, one of whom delivered the parchment). Deliveries whose price is still
    to be set count in no average."""
    # Per form: grams, the paid amounts' share in this lot (minor units x grams / net
    # grams, summed), the premiums' share, and the families.
    by_form: dict[str, tuple[list[int], set[uuid.UUID]]] = {}
    for part in parts:
        if part.price_pending or part.net_g <= 0:
            continue
        totals, families = by_form.setdefault(part.form, ([0, 0, 0], set()))
        totals[0] += part.grams
        totals[1] += part.amount * part.grams * SHARE_SCALE // part.net_g
        totals[2] += part.premium * part.grams * SHARE_SCALE // part.net_g
        families.add(part.family_id)
    shown = [
        (form, totals)
        for form, (totals, families) in by_form.items()
        if len(families) >= MIN_FAMILIES_FOR_PRICE and totals[0] > 0
    ]
    prices = [
        PriceFacts(
            form=form,
            currency=coop.currency,
            price_per_kg=_per_kg(amount, grams),
            premium_per_kg=_per_kg(premium, grams),
            kg=(Decimal(int(grams)) / 1000).quantize(Decimal("0.1")),
        )
        for form, (grams, amount, premium) in sorted(shown, key=lambda i: -i[1][0])
    ]
    return prices, len(by_form) - len(shown)


def _claims(
    session: Session, lot: Lot, day: date, *, harvest: dict[uuid.UUID, list[date]]
) -> list[ClaimFacts]:
    """The lot's claims from the claims engine, each with its certificates' public facts
    and what was true when (in force on the harvest or processing dates, and today)."""
    # One engine context gives the claims and, reused, what they rest on (kosher: the
    # processing days), instead of a second one built for the qualifications.
    context = claims_service.LotContext(session, lot.cooperative_id, [lot])
    found = context.claims(lot)
    qualified = claim_text.lot_qualifications(
        session, [lot], {lot.id: found}, today=day, harvest=harvest, context=context
    )[lot.id]
    ids = sorted({c for claim in found for c in claim.certificate_ids})
    certificates = [
        c
        for c in (session.get(Certificate, i) for i in ids)
        if c is not None and c.cooperative_id == lot.cooperative_id
    ]
    by_id = certificate_facts(session, certificates, day)
    family_types = context.family_types
    return [
        ClaimFacts(
            type=claim.type,
            basis=claim.basis,
            certificates=tuple(
                sorted(
                    (
                        replace(by_id[c], qualification=qualified.get(c))
                        for c in claim.certificate_ids
                        if c in by_id
                    ),
                    key=_latest_first,
                )
            ),
            covers="families" if claim.type in family_types else "sites",
        )
        for claim in sorted(found, key=lambda c: c.type)
    ]


def _latest_first(cert: CertificateFacts) -> tuple[int, int, str]:
    """A claim's certificates with the one valid latest first: a lot of deliveries on
    both sides of a renewal shows the renewal, not "expired since", at the top."""
    return (-cert.valid_until.toordinal(), -cert.valid_from.toordinal(), cert.number)


def protected_shape(coop: Cooperative) -> BaseGeometry | None:
    """The cooperative's protected area (rule 5), or None when none (or no valid one) is loaded."""
    if not coop.protected_area_geojson:
        return None
    try:  # checked when it was loaded; built and prepared once per boundary and thread
        return geo.area_shape(coop.protected_area_geojson)
    except (ValueError, TypeError, AttributeError, GEOSException):
        return None


__all__ = [
    "CUTOFF",
    "MIN_FAMILIES_FOR_PRICE",
    "CertificateFacts",
    "ClaimFacts",
    "Deforestation",
    "Journey",
    "MapPlot",
    "Origin",
    "Place",
    "PriceFacts",
    "Provenance",
    "PublicLinks",
    "ShipmentFacts",
    "Step",
    "TokenLookup",
    "certificate_facts",
    "facts",
    "kind_names",
    "protected_shape",
    "qr_uri",
]
