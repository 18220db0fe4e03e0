"""The records behind an EUDR due-diligence package, read once for the document.

`documents/eudr.py` checks and writes the geolocation GeoJSON and the PDF summary and
runs no query: here are the lots (a shipment's, or one lot), the plots of their whole
ancestry with the kilos and deliveries each gave and each one's share of the shipped
kilos, which of them lie in the protected area, and, for the summary, the certificates
that covered the producers.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from shapely.geometry import Point, Polygon
from sqlmodel import Session, col, select

from ..formatting import largest_remainder, rounded_units
from ..models import (
    Certificate,
    Community,
    Cooperative,
    Delivery,
    DeliveryClaim,
    DeliveryFlag,
    Family,
    Lot,
    Plot,
    PlotFlag,
    Shipment,
)
from ..models.enums import DeliveryFlagKind, PlotFlagKind
from . import claim_text, claims, conversions, genealogy, vocabulary
from .bulk import chunks
from .errors import Conflict
from .geo import overlaps, parse_area
from .shipments import shipment_lots

# The summary prints kilograms to one decimal: each lot's shares are also rounded to it.
SHOWN_G = 100


@dataclass
class PlotRow:
    """A plot behind the shipment, its producer, the kilos its deliveries gave (as weighed,
    in whatever form they came: `grams`) and its share of the shipped kilos: to the gram
    (`shipped_g`), and to the 100 g the summary prints (`shown_g`), so that the printed
    plots add up to the printed lots."""

    plot: Plot
    family: Family
    community: Community
    grams: int
    deliveries: int
    shipped_g: int = 0
    shown_g: int = 0
    number: int = 0  # the plot's place among its family's plots, 1 for the first made
    # The production period: the first and last days its deliveries in the package were
    # weighed (the date or time range of production a due diligence statement gives).
    first_on: date | None = None
    last_on: date | None = None

    @property
    def crop(self) -> str:
        return self.plot.crop

    @property
    def area_ha(self) -> float:
        return round(self.plot.area_m2 / 10_000, 4)

    @property
    def geometry_kind(self) -> str:
        """ "polygon" or "point", as stored."""
        return "polygon" if '"Polygon"' in (self.plot.geometry_geojson or "") else "point"

    @property
    def producer(self) -> str:
        """The producer as a document leaving the cooperative names them: the family head
        where the family consented to show its name, else its member code (the
        cooperative can say who, on an authority's request). EUDR asks for the plots'
        geolocation, not the producers' names."""
        family = self.family
        return family.head_name if family.public_name_consent else family.member_code

    @property
    def plot_label(self) -> str:
        """The plot as a document leaving the cooperative names it: its name where the
        family consented to show its name, else "Plot N", its place among the family's
        plots. A clerk may name a plot after the household ("Chacra de los Quispe"), and
        that surname would leave the cooperative with it."""
        if self.family.public_name_consent:
            return self.plot.name
        return str(_l("Plot %(number)s", number=self.number))

    @property
    def place(self) -> str:
        c = self.community
        parts = [self.plot_label, c.name, c.district, c.province, c.region]
        return ", ".join(p for p in parts if p)


@dataclass
class Origin:
    """What a package is made of: the lots, the plots behind them, and which plots lie in
    the protected area."""

    shipment: Shipment | None  # None for a lot's package
    lot: Lot | None  # the lot, for a lot's package
    coop: Cooperative
    lots: list[tuple[Lot, int]]
    rows: list[PlotRow]
    delivery_ids: list[uuid.UUID]
    protected: set[uuid.UUID]

    @property
    def production(self) -> tuple[date, date] | None:
        """The package's production period: its plots' first and last harvest days."""
        firsts = [r.first_on for r in self.rows if r.first_on]
        lasts = [r.last_on for r in self.rows if r.last_on]
        return (min(firsts), max(lasts)) if firsts and lasts else None


@dataclass
class Summary:
    """What the PDF summary adds: the certificates behind the shipped lots' claims (with
    how many producers delivered under each), and what was true of them on the harvest
    days."""

    certificates: list[tuple[Certificate, int]]
    qualified: dict[uuid.UUID, Any]


def for_shipment(session: Session, shipment: Shipment) -> Origin:
    """A shipment's lots and the plots behind them."""
    if shipment.voided_at is not None:
        raise Conflict(_l("This shipment is voided: it has no EUDR package."))
    coop = session.get(Cooperative, shipment.cooperative_id)
    assert coop is not None
    return _origin(session, coop, shipment_lots(session, shipment), shipment=shipment)


def for_lot(session: Session, lot: Lot) -> Origin:
    """One lot and the plots of its whole ancestry, by the shipment's rules."""
    if lot.voided_at is not None:
        raise Conflict(_l("This lot is voided: it has no EUDR geolocation."))
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    return _origin(session, coop, [(lot, lot.weight_g)], lot=lot)


def _origin(
    session: Session,
    coop: Cooperative,
    lots: list[tuple[Lot, int]],
    *,
    shipment: Shipment | None = None,
    lot: Lot | None = None,
) -> Origin:
    rows, delivery_ids = plot_rows(session, lots)
    protected = _protected(session, coop, rows, delivery_ids)
    return Origin(shipment, lot, coop, lots, rows, delivery_ids, protected)


def plot_rows(
    session: Session, lots: list[tuple[Lot, int]]
) -> tuple[list[PlotRow], list[uuid.UUID]]:
    """The plots behind these lots (through the genealogy), with the kilos and deliveries
    each gave, and each plot's share of the kilos shipped: every lot's shipped grams shared
    among its plots in proportion to what their deliveries put into it, counted in the
    crop's ledger unit (green-coffee or dry-bean equivalent, so that cherry and green
    weigh what they yield), rounded so that the plots add up to the shipment exactly: in
    grams, and, to the 100 g the summary prints, to every lot as it is printed."""
    parts = genealogy.backward(session, [lot.id for lot, _g in lots])
    grams_by_delivery: dict[uuid.UUID, int] = defaultdict(int)
    for found in parts.values():
        for delivery_id, grams in found.items():
            grams_by_delivery[delivery_id] += grams
    delivery_ids = sorted(grams_by_delivery)
    per_plot: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    plot_form: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    days: dict[uuid.UUID, list[date]] = defaultdict(list)
    for chunk in chunks(delivery_ids):
        for delivery_id, plot_id, form, day in session.execute(
            select(
                col(Delivery.id),
                col(Delivery.plot_id),
                col(Delivery.form),
                col(Delivery.delivered_on),
            ).where(col(Delivery.id).in_(chunk))
        ):
            per_plot[plot_id][0] += grams_by_delivery[delivery_id]
            per_plot[plot_id][1] += 1
            plot_form[delivery_id] = (plot_id, form)
            days[plot_id].append(day)
    shipped, shown = _shipped_shares(session, lots, parts, plot_form)
    rows: list[PlotRow] = []
    for chunk in chunks(sorted(per_plot)):
        for plot, family, community in session.execute(
            select(Plot, Family, Community)
            .join(Family, Family.id == Plot.family_id)  # type: ignore[arg-type]
            .join(Community, Community.id == Family.community_id)  # type: ignore[arg-type]
            .where(Plot.id.in_(chunk))  # type: ignore[attr-defined]
        ):
            grams, count = per_plot[plot.id]
            rows.append(
                PlotRow(
                    plot,
                    family,
                    community,
                    grams,
                    count,
                    shipped.get(plot.id, 0),
                    shown.get(plot.id, 0),
                    first_on=min(days[plot.id]),
                    last_on=max(days[plot.id]),
                )
            )
    _number_plots(session, rows)
    rows.sort(key=lambda r: (r.crop, r.family.member_code, r.number))
    return rows, delivery_ids


def _number_plots(session: Session, rows: list[PlotRow]) -> None:
    """Each row's plot's place among all its family's plots, in the order they were made
    (`PlotRow.plot_label`)."""
    places: dict[uuid.UUID, int] = {}
    for chunk in chunks(sorted({row.family.id for row in rows})):
        seen: dict[uuid.UUID, int] = defaultdict(int)
        for plot_id, family_id in session.execute(
            select(Plot.id, Plot.family_id)
            .where(Plot.family_id.in_(chunk))  # type: ignore[attr-defined]
            .order_by(Plot.family_id, Plot.created_at, Plot.name, Plot.id)  # type: ignore[arg-type]
        ):
            seen[family_id] += 1
            places[plot_id] = seen[family_id]
    for row in rows:
        row.number = places[row.plot.id]


def _shipped_shares(
    session: Session,
    lots: list[tuple[Lot, int]],
    parts: dict[uuid.UUID, dict[uuid.UUID, int]],
    plot_form: dict[uuid.UUID, tuple[uuid.UUID, str]],
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Each plot's grams of the shipped lots, lot by lot, by the largest remainder: to the
    gram, and in SHOWN_G units that add up to each lot as the summary prints it (half to
    even, as the number formatter rounds), so that the printed plots add up to the
    printed lots."""
    factors: dict[uuid.UUID, conversions.Factors] = {}
    shipped: dict[uuid.UUID, int] = defaultdict(int)
    shown: dict[uuid.UUID, int] = defaultdict(int)
    for lot, lot_g in lots:
        if lot.cooperative_id not in factors:
            factors[lot.cooperative_id] = conversions.load(session, lot.cooperative_id)
        convert = factors[lot.cooperative_id].to_ledger
        weight: dict[uuid.UUID, int] = defaultdict(int)
        for delivery_id, grams in parts.get(lot.id, {}).items():
            if delivery_id in plot_form:
                plot_id, form = plot_form[delivery_id]
                weight[plot_id] += convert(form, grams)
        if sum(weight.values()) <= 0 or lot_g <= 0:
            continue
        for plot_id, grams in largest_remainder(lot_g, weight).items():
            shipped[plot_id] += grams
        for plot_id, units in largest_remainder(rounded_units(lot_g, SHOWN_G), weight).items():
            shown[plot_id] += units * SHOWN_G
    return shipped, shown


def _protected(
    session: Session, coop: Cooperative, rows: list[PlotRow], delivery_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Plots in the protected area: flagged and unresolved, a delivery flagged there, or
    inside the boundary (unless a manager resolved the flag after checking on the ground)."""
    ids = [r.plot.id for r in rows]
    flagged: set[uuid.UUID] = set()
    resolved: set[uuid.UUID] = set()
    for chunk in chunks(ids):
        for plot_id, resolved_at in session.execute(
            select(PlotFlag.plot_id, PlotFlag.resolved_at).where(
                PlotFlag.plot_id.in_(chunk),  # type: ignore[attr-defined]
                PlotFlag.kind == PlotFlagKind.PROTECTED_AREA,
            )
        ):
            (resolved if resolved_at is not None else flagged).add(plot_id)
    for chunk in chunks(delivery_ids):
        flagged.update(
            session.exec(
                select(Delivery.plot_id)
                .join(DeliveryFlag, DeliveryFlag.delivery_id == Delivery.id)  # type: ignore[arg-type]
                .where(
                    Delivery.id.in_(chunk),  # type: ignore[attr-defined]
                    DeliveryFlag.kind == DeliveryFlagKind.PROTECTED_AREA,
                )
                .distinct()
            ).all()
        )
    if coop.protected_area_geojson:
        area = parse_area(coop.protected_area_geojson)
        for row in rows:
            geometry = _shape(row.plot.geometry_geojson)
            if geometry is not None and row.plot.id not in resolved and overlaps(geometry, area):
                flagged.add(row.plot.id)
    return flagged


def _shape(geojson: str | None) -> Any:
    if not geojson:
        return None
    try:
        value = json.loads(geojson)
        if value.get("type") == "Point":
            return Point(value["coordinates"][:2])
        if value.get("type") == "Polygon":
            return Polygon(value["coordinates"][0], value["coordinates"][1:])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
    return None


def summary(session: Session, origin: Origin) -> Summary:
    """The certificates of a shipment's package and what was true of them when: each on
    the days its own claims rest on, the harvest days of the deliveries made under it
    (not another producer's, delivered after it lapsed), or, for a processing site's
    certificate (kosher), the days of the shipped lots' steps at its sites."""
    listed = certificates(session, origin)
    views = claims.load_certificates(session, origin.coop.id)
    harvested = claimed_days(session, origin)
    lots = [lot for lot, _grams in origin.lots]
    at_sites = [cert.id for cert, _n in listed if cert.id not in harvested]
    processed: dict[uuid.UUID, set[date]] = defaultdict(set)
    if at_sites and lots:
        for (_lot, cert_id), found in claim_text.processing_dates(session, lots, at_sites).items():
            processed[cert_id] |= found
    today = vocabulary.local_today()
    qualified: dict[uuid.UUID, Any] = {}
    for cert, _n in listed:
        if cert.id not in views:
            continue
        rests_on, days = (
            (claim_text.HARVEST, harvested[cert.id])
            if cert.id in harvested
            else (claim_text.PROCESSING, processed.get(cert.id, set()))
        )
        qualified[cert.id] = claim_text.qualify(
            views[cert.id], rests_on=rests_on, dates=days, today=today
        )
    return Summary(listed, qualified)


def claimed_days(session: Session, origin: Origin) -> dict[uuid.UUID, set[date]]:
    """Certificate -> the harvest days of the package's deliveries that carry a claim
    under it."""
    found: dict[uuid.UUID, set[date]] = defaultdict(set)
    for chunk in chunks(origin.delivery_ids):
        for cert_id, day in session.execute(
            select(col(DeliveryClaim.certificate_id), col(Delivery.delivered_on))
            .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
            .where(col(DeliveryClaim.delivery_id).in_(chunk))
            .distinct()
        ):
            found[cert_id].add(day)
    return found


def certificates(session: Session, origin: Origin) -> list[tuple[Certificate, int]]:
    """The certificates the shipment's deliveries were made under, each with how many of
    its producers delivered under it: a family's delivery carries a certificate's claim
    when the family was certified on its harvest day (not merely by the shipping day); a
    processing site's certificate (kosher) behind a shipped lot's claim counts every
    producer whose coffee went through it."""
    families: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for chunk in chunks(origin.delivery_ids):
        for cert_id, family_id in session.execute(
            select(DeliveryClaim.certificate_id, Delivery.family_id)
            .join(Delivery, Delivery.id == DeliveryClaim.delivery_id)  # type: ignore[arg-type]
            .where(DeliveryClaim.delivery_id.in_(chunk))  # type: ignore[attr-defined]
            .distinct()
        ):
            families[cert_id].add(family_id)
    lots = [lot for lot, _grams in origin.lots]
    of_families = claims.family_types(session, origin.coop.id)
    sites = {
        cert_id
        for held in (claims.lot_claims(session, lots) if lots else {}).values()
        for claim in held
        if claim.type not in of_families
        for cert_id in claim.certificate_ids
    }
    everyone = {r.family.id for r in origin.rows}
    for cert_id in sites:
        families[cert_id] = everyone
    if not families:
        return []
    listed = session.exec(
        select(Certificate)
        .where(Certificate.id.in_(list(families)))  # type: ignore[attr-defined]
        .order_by(Certificate.type, Certificate.number)
    ).all()
    return [(cert, len(families[cert.id])) for cert in listed]
