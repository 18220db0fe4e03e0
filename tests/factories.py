"""Plain builders for realistic records; each takes the session and flushes."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from tracker.models import (
    Certificate,
    CollectionCentre,
    Community,
    Cooperative,
    CoverageEntry,
    Family,
    Plot,
    ProcessingSite,
    User,
)
from tracker.services import cooperatives, deliveries, users

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_cooperative(session: Session, code: str | None = None, **kw: Any) -> Cooperative:
    code = code or f"T{next(_seq):03d}"
    return cooperatives.create_cooperative(
        session, code=code, name=kw.pop("name", f"Cooperativa {code}"), **kw
    )


def make_user(
    session: Session, *, role: str, coop: Cooperative | None = None, email: str | None = None
) -> User:
    email = email or f"{role}{next(_seq)}@example.org"
    user = users.create_user(
        session, email=email, password=PASSWORD, name=role.title(), is_admin=role == "admin"
    )
    if coop is not None and role != "admin":
        users.set_membership(
            session,
            user=user,
            cooperative=coop,
            role=role,
            collection_centre_id=centre_of(session, coop).id if role == "clerk" else None,
        )
    return user


def centre_of(session: Session, coop: Cooperative) -> CollectionCentre:
    return session.exec(
        select(CollectionCentre)
        .where(CollectionCentre.cooperative_id == coop.id)
        .order_by(CollectionCentre.code)
    ).first()  # type: ignore[return-value]


def make_community(session: Session, coop: Cooperative, name: str | None = None) -> Community:
    return cooperatives.add_community(
        session,
        coop,
        name=name or f"Caserío {next(_seq)}",
        district="Pólvora",
        province="Tocache",
        region="San Martín",
    )


def make_family(
    session: Session, coop: Cooperative, *, community: Community | None = None, **kw: Any
) -> Family:
    community = community or make_community(session, coop)
    n = next(_seq)
    family = Family(
        cooperative_id=coop.id,
        member_code=kw.pop("member_code", f"{coop.code}-{1000 + n}"),
        head_name=kw.pop("head_name", f"Rosa Quispe {n}"),
        woman_led=kw.pop("woman_led", n % 3 == 0),
        community_id=community.id,
        national_id=kw.pop("national_id", f"4{n:07d}"),
        phone=kw.pop("phone", f"9{n:08d}"),
        public_name_consent=kw.pop("public_name_consent", True),
        **kw,
    )
    session.add(family)
    session.flush()
    return family


def make_plot(
    session: Session,
    family: Family,
    *,
    crop: str = "coffee",
    area_ha: float = 1.5,
    lon: float = -76.45,
    lat: float = -7.55,
    **kw: Any,
) -> Plot:
    plot = Plot(
        cooperative_id=family.cooperative_id,
        family_id=family.id,
        name=kw.pop("name", f"Parcela {next(_seq)}"),
        crop=crop,
        area_m2=int(area_ha * 10_000),
        altitude_m=kw.pop("altitude_m", 1200 if crop == "coffee" else 400),
        expected_yield_kg_ha=kw.pop("expected_yield_kg_ha", 800),
        geometry_geojson=json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        centroid_lon=lon,
        centroid_lat=lat,
        **kw,
    )
    session.add(plot)
    session.flush()
    return plot


def make_site(session: Session, coop: Cooperative, kind: str = "dry_mill") -> ProcessingSite:
    return cooperatives.add_processing_site(
        session, coop, code=f"S{next(_seq):02d}", name=f"Planta {kind}", kind=kind
    )


def make_certificate(
    session: Session,
    coop: Cooperative,
    *,
    type: str = "organic",
    crops: str = "coffee",
    valid_from: date = date(2026, 1, 1),
    valid_until: date = date(2026, 12, 31),
    basis: str = "segregated",
    **kw: Any,
) -> Certificate:
    cert = Certificate(
        cooperative_id=coop.id,
        type=type,
        standard=kw.pop("standard", "EU organic (Reg. 2018/848)" if type == "organic" else type),
        body=kw.pop("body", "Control Union Peru"),
        body_code=kw.pop("body_code", "PE-BIO-149"),
        number=kw.pop("number", f"CU-{next(_seq):05d}"),
        crops=crops,
        valid_from=valid_from,
        valid_until=valid_until,
        basis=basis,
        **kw,
    )
    session.add(cert)
    session.flush()
    return cert


def cover(
    session: Session,
    cert: Certificate,
    family: Family,
    status: str = "certified",
    since: date | None = None,
) -> CoverageEntry:
    entry = CoverageEntry(
        cooperative_id=cert.cooperative_id,
        certificate_id=cert.id,
        family_id=family.id,
        status=status,
        since=since or cert.valid_from,
    )
    session.add(entry)
    session.flush()
    return entry


def make_delivery(
    session: Session,
    coop: Cooperative,
    family: Family,
    plot: Plot,
    *,
    kg: float = 50,
    on: date = date(2026, 6, 2),
    form: str = "dry_parchment",
    price: int = 900,
    clerk: User | None = None,
    **kw: Any,
) -> Any:
    data = deliveries.DeliveryData(
        family_id=family.id,
        plot_id=plot.id,
        crop=plot.crop,
        form=form,
        delivered_on=on,
        gross_g=int(kg * 1000) + kw.pop("tare_g", 500),
        tare_g=500,
        price_per_kg_minor=price,
        **kw,
    )
    return deliveries.record(
        session,
        coop=coop,
        centre=centre_of(session, coop),
        clerk_id=clerk.id if clerk else None,
        data=data,
    )


THREE_FORMS = (("dry_parchment", 1_104.375), ("green", 92), ("cherry", 30))


def make_weighed_family(
    session: Session,
    coop: Cooperative,
    *,
    family_kw: dict[str, Any] | None = None,
    certified: bool = False,
    **delivery_kw: Any,
) -> tuple[Family, dict[str, Any]]:
    """A family with one delivery of each of THREE_FORMS on 2 June 2026, each with a
    premium at the scale of S/ 0.50 a kg; returns the family and its deliveries by form."""
    family = make_family(session, coop, **(family_kw or {}))
    plot = make_plot(session, family)
    if certified:
        cover(session, make_certificate(session, coop), family)
    made = {
        form: make_delivery(
            session,
            coop,
            family,
            plot,
            kg=kg,
            form=form,
            on=date(2026, 6, 2),
            premium_per_kg_minor=50,
            **delivery_kw,
        )
        for form, kg in THREE_FORMS
    }
    return family, made


@dataclass
class World:
    """Two cooperatives (A coffee, B cacao), their staff and an admin."""

    a: Cooperative
    b: Cooperative
    admin: User
    staff: dict[str, User] = field(default_factory=dict)

    @classmethod
    def build(cls, session: Session) -> World:
        a = make_cooperative(session, "COOPA", name="Cooperativa A")
        b = make_cooperative(session, "COOPB", name="Cooperativa B")
        world = cls(a=a, b=b, admin=make_user(session, role="admin", email="admin@example.org"))
        for coop, tag in ((a, "a"), (b, "b")):
            for role in ("clerk", "manager", "auditor"):
                world.staff[f"{role}_{tag}"] = make_user(
                    session, role=role, coop=coop, email=f"{role}.{tag}@example.org"
                )
        return world

    @classmethod
    def load(cls, session: Session) -> World:
        """The world `build` made, read back (from a database it was copied into)."""
        coops = {
            c.code: c
            for c in session.exec(
                select(Cooperative).where(col(Cooperative.code).in_(("COOPA", "COOPB")))
            )
        }
        people = {u.email: u for u in session.exec(select(User))}
        world = cls(a=coops["COOPA"], b=coops["COOPB"], admin=people["admin@example.org"])
        for tag in ("a", "b"):
            for role in ("clerk", "manager", "auditor"):
                world.staff[f"{role}_{tag}"] = people[f"{role}.{tag}@example.org"]
        return world

    def user(self, key: str) -> User:
        return self.admin if key == "admin" else self.staff[key]


def new_id() -> str:
    return str(uuid.uuid4())


# -- lots and shipments (issue 5) ------------------------------------------------------


def make_lot(
    session: Session,
    coop: Cooperative,
    deliveries: list[Any] | None = None,
    *,
    kg: float | list[float] = 100,
    form: str | None = None,
    crop: str = "coffee",
    on: date = date(2026, 6, 2),
    **kw: Any,
) -> Any:
    """A lot gathered from deliveries; when none are given, one family delivers `kg` (a
    number or one weighing per item) of `form` on `on` first."""
    from tracker.services import lots

    form = form or ("dry_parchment" if crop == "coffee" else "wet_beans")
    if deliveries is None:
        family = make_family(session, coop)
        plot = make_plot(session, family, crop=crop)
        weights = kg if isinstance(kg, list) else [kg]
        deliveries = [
            make_delivery(session, coop, family, plot, kg=w, on=on, form=form) for w in weights
        ]
    return lots.create_lot(
        session,
        coop=coop,
        crop=deliveries[0].crop,
        form=deliveries[0].form,
        picks=[lots.Pick(d.id) for d in deliveries],
        occurred_on=kw.pop("occurred_on", max(d.delivered_on for d in deliveries)),
        **kw,
    )


def make_shipment(session: Session, coop: Cooperative, lots_: list[Any], **kw: Any) -> Any:
    """A shipment of these lots to a Hamburg importer."""
    from tracker.services import shipments

    return shipments.create_shipment(
        session,
        coop=coop,
        buyer_name=kw.pop("buyer_name", "Hanseatic Coffee Importers GmbH"),
        buyer_country=kw.pop("buyer_country", "DE"),
        shipped_on=kw.pop("shipped_on", None),
        lot_ids=[lot.id for lot in lots_],
        contract=kw.pop("contract", "HH-2026-014"),
        container=kw.pop("container", "MSKU1234565"),
        **kw,
    )


def make_centre(session: Session, coop: Cooperative, code: str = "C02") -> CollectionCentre:
    """Another collection centre of the cooperative (receipt numbers run per centre)."""
    return cooperatives.add_collection_centre(session, coop, code=code, name=f"Centro {code}")


# -- the buyer's QR page (issue 6) -----------------------------------------------------

# A valid GTIN-14 (check digit 4) for the cooperative's green coffee.
GREEN_GTIN = "07750000000014"


@dataclass
class PublicLot:
    """A lot of green coffee with everything the public page shows, and the private data
    it must never show (national IDs, phones, unconsented names, per-family prices)."""

    lot: Any
    families: list[Any]
    deliveries: list[Any]
    plots: list[Any]
    parchment: Any
    certificates: list[Any] = field(default_factory=list)


def make_public_lot(
    session: Session,
    coop: Cooperative,
    *,
    families: int = 4,
    gtin: str | None = GREEN_GTIN,
    polygon: bool = True,
    certified: bool = True,
    published: bool = True,
) -> PublicLot:
    """Families of two communities deliver dry parchment (distinct prices each), gathered
    into a lot, hulled into green coffee at a dry mill; every other family is unnamed.
    With `certified`, every family is certified under an EU organic and a Fairtrade
    certificate, so the lot carries both claims. With `published` (its labels printed),
    its GS1 Digital Link opens it."""
    from tracker.services import lots, publication

    certificates = []
    if certified:
        certificates = [
            make_certificate(
                session,
                coop,
                type="organic",
                number="CU-PE-2026-0871",
                body="Control Union Peru",
                body_code="PE-BIO-149",
            ),
            make_certificate(
                session,
                coop,
                type="fairtrade",
                standard="Fairtrade Small-scale Producer Organizations",
                body="FLOCERT",
                body_code="FLO-ID 3456",
                number="FLO-3456-2024",
                valid_from=date(2024, 3, 1),
                valid_until=date(2027, 2, 28),
            ),
        ]
    if gtin:
        lots.set_product(
            session, coop=coop, crop="coffee", form="green", name="Café verde Pólvora", gtin=gtin
        )
    site = make_site(session, coop, kind="dry_mill")
    places = [make_community(session, coop), make_community(session, coop)]
    made_families, plots, picked = [], [], []
    for n in range(families):
        family = make_family(
            session,
            coop,
            community=places[n % 2],
            head_name=f"Consentida Nombre{n}" if n % 2 == 0 else f"Secreta Apellido{n}",
            public_name_consent=n % 2 == 0,
            woman_led=n % 2 == 1,
            national_id=f"7{n:07d}",
            phone=f"98765{n:04d}",
        )
        lon, lat = -76.45 + n * 0.01, -7.55 - n * 0.005
        plot = make_plot(session, family, lon=lon, lat=lat, altitude_m=1100 + 100 * n)
        if polygon and n == 0:
            ring = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002]]
            plot.geometry_geojson = json.dumps(
                {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
            )
            session.add(plot)
        for cert in certificates:
            cover(session, cert, family)
        made_families.append(family)
        plots.append(plot)
        picked.append(
            make_delivery(
                session,
                coop,
                family,
                plot,
                kg=100 + 10 * n,
                price=911 + 37 * n,
                premium_per_kg_minor=40,
                on=date(2026, 6, 2 + n),
            )
        )
    parchment = make_lot(session, coop, picked, occurred_on=date(2026, 6, 20))
    green = lots.process_lot(
        session,
        lot=parchment,
        process="hulling",
        output_form="green",
        output_g=round(parchment.weight_g * 0.8),
        site_id=site.id,
        occurred_on=date(2026, 7, 1),
    )
    if published:
        publication.publish(session, lot=green, via=publication.Via.LABELS)
    return PublicLot(green, made_families, picked, plots, parchment, certificates)


# -- payments, premiums and derived claims (issue 7) -----------------------------------


def make_premium_rule(session: Session, coop: Cooperative, **kw: Any) -> Any:
    """A season premium (by default S/ 1.65 per kg as weighed, on fair-trade kilos);
    `per_kg_minor` is shorthand for `rate_minor` with unit "kg_delivered"."""
    from tracker.services import premiums

    if "per_kg_minor" in kw:
        kw["rate_minor"] = kw.pop("per_kg_minor")
        kw.setdefault("unit", "kg_delivered")
    return premiums.add_premium_rule(
        session,
        coop=coop,
        name=kw.pop("name", "Prima Fairtrade"),
        season=kw.pop("season", 2026),
        rate_minor=kw.pop("rate_minor", 165),
        unit=kw.pop("unit", "kg_delivered"),
        claim_type=kw.pop("claim_type", "fairtrade"),
        **kw,
    )


def make_payment(
    session: Session,
    family: Family,
    *,
    amount_minor: int = 10_000,
    kind: str = "advance",
    method: str = "cash",
    paid_on: date = date(2026, 6, 15),
    allocations: list[tuple[Any, int]] | None = None,
    **kw: Any,
) -> Any:
    """A payment to a family; allocations are (delivery, minor units), None settles oldest first."""
    from tracker.services import payments

    data = payments.PaymentData(
        kind=kind,
        method=method,
        paid_on=paid_on,
        amount_minor=amount_minor,
        allocations=None
        if allocations is None
        else [payments.AllocationData(d.id, amount) for d, amount in allocations],
        **kw,
    )
    return payments.record_payment(session, family=family, data=data, user_id=None)


def materialise_claims(
    session: Session,
    claims: list[tuple[Any, list[Certificate]]],
    over_cap: list[tuple[Any, str]] = (),  # type: ignore[assignment]
) -> bool:
    """Make sure the deliveries carry exactly these claims ((delivery, certificates) pairs)
    and over-cap flags.

    When the claims engine (services/claims.py) is in place it has already derived them
    from coverage and caps, and this checks it agrees with the test's hand-worked rules;
    until then the rows are written here. Returns True when the engine derived them.
    """
    from tracker.models import DeliveryClaim, DeliveryFlag
    from tracker.services import claims as engine

    ids = [d.id for d, _certs in claims]
    try:
        derived = engine.delivery_claims(session, ids)
    except NotImplementedError:
        for delivery, certs in claims:
            for cert in certs:
                session.add(
                    DeliveryClaim(
                        delivery_id=delivery.id,
                        certificate_id=cert.id,
                        cooperative_id=delivery.cooperative_id,
                        claim_type=cert.type,
                    )
                )
        for delivery, claim_type in over_cap:
            session.add(
                DeliveryFlag(
                    delivery_id=delivery.id,
                    kind="over_cap",
                    claim_type=claim_type,
                    cooperative_id=delivery.cooperative_id,
                )
            )
        session.flush()
        return False
    for delivery, certs in claims:
        got = {(c.type, tuple(sorted(map(str, c.certificate_ids)))) for c in derived[delivery.id]}
        want: dict[str, list[str]] = {}
        for cert in certs:
            want.setdefault(cert.type, []).append(str(cert.id))
        assert {t for t, _ in got} == set(want), (delivery.receipt_number, got, want)
    flagged = set(
        session.exec(
            select(DeliveryFlag.delivery_id, DeliveryFlag.claim_type).where(
                DeliveryFlag.kind == "over_cap", DeliveryFlag.delivery_id.in_(ids)
            )
        ).all()
    )
    assert flagged == {(d.id, t) for d, t in over_cap}, flagged
    return True


# -- certificates and claims (issue 4) -------------------------------------------------


def set_status(
    session: Session, cert: Certificate, status: str, on: date, reason: str = "Auditoría anual"
) -> Any:
    """Suspend, withdraw or reinstate a certificate from a date (claims follow)."""
    from tracker.services import certificates

    return certificates.change_status(
        session, cert, status=status, effective_from=on, reason=reason
    )


def flag_plot(session: Session, plot: Plot, kind: str = "protected_area") -> Any:
    """An unresolved flag on a plot, with the claims engine told."""
    from tracker.models import PlotFlag
    from tracker.services import claims

    flag = PlotFlag(cooperative_id=plot.cooperative_id, plot_id=plot.id, kind=kind)
    session.add(flag)
    session.flush()
    coop = session.get(Cooperative, plot.cooperative_id)
    claims.refresh_plots(session, coop, [plot.id])
    return flag


def cover_site(
    session: Session, cert: Certificate, site: ProcessingSite, since: date | None = None
) -> Any:
    """A processing site listed under a kosher (site) certificate."""
    from tracker.services import coverage

    return coverage.set_site(session, cert, site_id=site.id, since=since or cert.valid_from)


# -- intake: families, plots, deliveries, CSV (issue 3) --------------------------------


def intake_sample(name: str) -> bytes:
    """A sample file of ../shared/samples (copied byte for byte into tests/data/intake)."""
    from pathlib import Path

    return (Path(__file__).resolve().parent / "data" / "intake" / name).read_bytes()


def square(lon: float, lat: float, side_m: float = 100.0) -> dict[str, Any]:
    """A GeoJSON square of about side_m metres centred on (lon, lat), 6 decimals."""
    import math

    dlat = side_m / 2 / 110_574
    dlon = side_m / 2 / (111_320 * math.cos(math.radians(lat)))
    corners = [(-dlon, -dlat), (dlon, -dlat), (dlon, dlat), (-dlon, dlat), (-dlon, -dlat)]
    return {
        "type": "Polygon",
        "coordinates": [[[round(lon + x, 6), round(lat + y, 6)] for x, y in corners]],
    }


def make_sample_members(session: Session, coop: Cooperative) -> list[Family]:
    """The 12 families of samples/socios-excel-es.csv, each with plots Parcela 1 and 2."""
    from tracker.services import imports, plots

    imports.import_families(session, coop, intake_sample("socios-excel-es.csv"))
    found = list(
        session.exec(
            select(Family).where(Family.cooperative_id == coop.id).order_by(Family.member_code)
        ).all()
    )
    for n, family in enumerate(found):
        for k in (1, 2):
            plots.create(
                session,
                family,
                {
                    "name": f"Parcela {k}",
                    "crop": "coffee",
                    "area_m2": 15_000,
                    "expected_yield_kg_ha": 900,
                    "geometry": {
                        "type": "Point",
                        "coordinates": [-76.45 + n / 100, -7.55 - k / 100],
                    },
                },
            )
    return found


def pdf_document(text: str = "Certificado CU-PE-2026-0871", **catalog: Any) -> bytes:
    """A small, valid one-page PDF made with pikepdf; `catalog` adds entries to its
    catalog (an /OpenAction, /Names...), given as pikepdf objects."""
    import io

    import pikepdf

    document = pikepdf.new()
    document.add_blank_page(page_size=(200, 200))
    document.docinfo["/Title"] = text
    for key, value in catalog.items():
        document.Root[f"/{key}"] = value
    out = io.BytesIO()
    document.save(out, deterministic_id=True)
    return out.getvalue()


# -- the collection centre offline (issue 14) -----------------------------------------


def set_day_price(
    session: Session,
    coop: Cooperative,
    *,
    form: str = "dry_parchment",
    price: int = 955,
    premium: int = 0,
    day: date | None = None,
    centre: CollectionCentre | None = None,
) -> Any:
    """The manager's price at the cooperative's first centre, from `day` (today) on."""
    from tracker.services import prices

    centre = centre or centre_of(session, coop)
    return prices.set_price(
        session,
        coop=coop,
        data=prices.PriceData(
            centre_id=centre.id,
            form=form,
            day=day or deliveries.today(),
            price_per_kg_minor=price,
            premium_per_kg_minor=premium,
        ),
        user_id=None,
    )


def make_mass_balance_credit(session: Session, coop: Cooperative, kg: float = 1000) -> Any:
    """A mass-balance Fairtrade certificate of coffee whose one certified family delivered
    `kg` of green coffee: that much credit in its ledger. Committed."""
    cert = make_certificate(
        session,
        coop,
        type="fairtrade",
        basis="mass_balance",
        number="FLO-MB-1",
        standard="Fairtrade",
    )
    family = make_family(session, coop)
    plot = make_plot(session, family, area_ha=10.0, expected_yield_kg_ha=900)
    cover(session, cert, family)
    make_delivery(session, coop, family, plot, kg=kg, form="green", on=date(2026, 6, 1))
    session.commit()
    return cert


def raw_rows(url: str, sql: str) -> list[tuple]:
    """The rows of a raw SQL query on a database by its URL, on a connection of its own
    (a migration test reads what the migration left, outside the app's session)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()
