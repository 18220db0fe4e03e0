"""The demo's people, places, plots and certificates: deterministic from a seed."""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from shapely.geometry import Point, Polygon, mapping
from sqlalchemy import insert
from sqlmodel import Session

from ...models import (
    Certificate,
    CertificateStatusChange,
    CollectionCentre,
    Community,
    Cooperative,
    CoverageEntry,
    Family,
    Plot,
    ProcessingSite,
    Product,
    SiteCoverage,
    User,
    utcnow,
)
from .. import audit, cooperatives, publication, users
from ..geo import geodesic_area_m2, truncate6
from . import data

DEMO_PASSWORD = "cordillera-azul-2026"  # noqa: S105 - printed for the demo logins
DEMO_DOMAIN = "demo.tracker.pe"


@dataclass
class CoopSpec:
    code: str
    name: str
    crop: str
    season_start_month: int
    member_prefix: str
    share: float
    centres: list[tuple[str, str]]
    sites: list[tuple[str, str, str]]


COOPS = [
    CoopSpec(
        code="CAZ",
        name="Cooperativa Agraria Cafetalera Cordillera Azul",
        crop="coffee",
        season_start_month=4,
        member_prefix="CAZ",
        share=0.6,
        centres=[
            ("C01", "Centro de acopio Juanjuí"),
            ("C02", "Centro de acopio Tocache"),
            ("C03", "Centro de acopio Bellavista"),
        ],
        sites=[
            ("S01", "Tendal de secado Juanjuí", "drying_yard"),
            ("S02", "Planta de beneficio seco Tocache", "dry_mill"),
        ],
    ),
    CoopSpec(
        code="CHU",
        name="Cooperativa Cacaotera Alto Huallaga",
        crop="cacao",
        season_start_month=1,
        member_prefix="CHU",
        share=0.4,
        centres=[("C01", "Centro de acopio Aucayacu"), ("C02", "Centro de acopio Aguaytía")],
        sites=[("S01", "Planta de fermentación y secado Aucayacu", "fermentation_shed")],
    ),
]


@dataclass
class Demo:
    """What later parts of the demo build on."""

    rng: random.Random
    coops: dict[str, Cooperative] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    communities: dict[str, list[Community]] = field(default_factory=dict)
    centres: dict[str, list[CollectionCentre]] = field(default_factory=dict)
    sites: dict[str, list[ProcessingSite]] = field(default_factory=dict)
    families: dict[str, list[dict]] = field(default_factory=dict)
    plots: dict[str, list[dict]] = field(default_factory=dict)
    certificates: dict[str, dict[str, Certificate]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    special: dict[str, object] = field(default_factory=dict)


def logins() -> list[tuple[str, str, str]]:
    """(role, cooperative, email) of every demo login; all share DEMO_PASSWORD."""
    rows = [("admin", "-", f"admin@{DEMO_DOMAIN}")]
    for spec in COOPS:
        for role in ("clerk", "manager", "auditor"):
            rows.append((role, spec.code, f"{role}.{spec.code.lower()}@{DEMO_DOMAIN}"))
    return rows


def build_people(session: Session, demo: Demo) -> None:
    """Cooperatives, their places and products, and the demo users."""
    admin = users.create_user(
        session,
        email=f"admin@{DEMO_DOMAIN}",
        password=DEMO_PASSWORD,
        name="Administración",
        is_admin=True,
    )
    demo.users["admin"] = admin
    community_rows = list(data.COMMUNITIES)
    split = 20  # the coffee cooperative works in the first 20 communities
    for spec, rows in zip(COOPS, (community_rows[:split], community_rows[split:]), strict=True):
        coop = cooperatives.create_cooperative(
            session, code=spec.code, name=spec.name, season_start_month=spec.season_start_month
        )
        coop.protected_area_geojson = json.dumps(mapping(Polygon(data.PROTECTED_AREA)))
        demo.coops[spec.code] = coop
        first = session.get(CollectionCentre, _first_centre_id(session, coop))
        assert first is not None
        first.code, first.name = spec.centres[0]
        centres = [first] + [
            cooperatives.add_collection_centre(session, coop, code=c, name=n)
            for c, n in spec.centres[1:]
        ]
        demo.centres[spec.code] = centres
        demo.sites[spec.code] = [
            cooperatives.add_processing_site(session, coop, code=c, name=n, kind=k)
            for c, n, k in spec.sites
        ]
        demo.communities[spec.code] = [
            cooperatives.add_community(session, coop, name=n, district=d, province=p, region=r)
            for n, d, p, r in rows
        ]
        for role in ("clerk", "manager", "auditor"):
            user = users.create_user(
                session,
                email=f"{role}.{spec.code.lower()}@{DEMO_DOMAIN}",
                password=DEMO_PASSWORD,
                name=f"{role.title()} {spec.code}",
            )
            users.set_membership(
                session,
                user=user,
                cooperative=coop,
                role=role,
                collection_centre_id=centres[0].id if role == "clerk" else None,
            )
            demo.users[f"{role}.{spec.code}"] = user
        if spec.crop == "coffee":
            products = [
                ("coffee", "green", "Café verde de especialidad", "07750000000014"),
                ("coffee", "roasted", "Café tostado Cordillera Azul", "07750000000021"),
            ]
        else:
            products = [
                ("cacao", "dry_beans", "Cacao en grano fermentado y seco", "07750000000038")
            ]
        for crop, form, name, gtin in products:
            session.add(Product(cooperative_id=coop.id, crop=crop, form=form, name=name, gtin=gtin))
            publication.claim_gtin(session, coop=coop, gtin=gtin)
    session.flush()


def _first_centre_id(session: Session, coop: Cooperative) -> uuid.UUID:
    from sqlmodel import select

    return session.exec(
        select(CollectionCentre.id).where(CollectionCentre.cooperative_id == coop.id)
    ).one()


def _name(rng: random.Random, woman: bool) -> str:
    first = rng.choice(data.WOMEN if woman else data.MEN)
    return f"{first} {rng.choice(data.SURNAMES)} {rng.choice(data.SURNAMES)}"


def _spot(rng: random.Random, region: str, park: Polygon) -> tuple[float, float]:
    """A location in the community's region, outside the park."""
    cx, cy = data.REGION_CENTRES[region]
    while True:
        lon, lat = cx + rng.uniform(-0.22, 0.22), cy + rng.uniform(-0.22, 0.22)
        if not park.buffer(0.02).contains(Point(lon, lat)):
            return truncate6(lon), truncate6(lat)


def _polygon(rng: random.Random, lon: float, lat: float, area_m2: float) -> Polygon:
    """An irregular hexagon of about the given area around a point."""
    radius = math.sqrt(area_m2 / (1.5 * math.sqrt(3)))
    points = []
    for k in range(6):
        angle = math.radians(60 * k + rng.uniform(-12, 12))
        r = radius * rng.uniform(0.9, 1.1)
        dlon = r * math.cos(angle) / (111_320 * math.cos(math.radians(lat)))
        dlat = r * math.sin(angle) / 110_574
        points.append((truncate6(lon + dlon), truncate6(lat + dlat)))
    points.append(points[0])
    return Polygon(points)


def build_families(session: Session, demo: Demo, total: int) -> None:
    """Families (about a third woman-led, 80 % consenting) and their plots."""
    rng = demo.rng
    park = Polygon(data.PROTECTED_AREA)
    now = utcnow()
    for spec in COOPS:
        coop = demo.coops[spec.code]
        count = round(total * spec.share)
        families, plots = [], []
        for n in range(count):
            community = demo.communities[spec.code][n % len(demo.communities[spec.code])]
            woman = rng.random() < 0.34
            family = {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "cooperative_id": coop.id,
                "member_code": f"{spec.member_prefix}-{1000 + n}",
                "head_name": _name(rng, woman),
                "woman_led": woman,
                "community_id": community.id,
                "national_id": f"{rng.randint(40_000_000, 48_999_999)}",
                "phone": f"9{rng.randint(10_000_000, 99_999_999)}",
                "public_name_consent": rng.random() < 0.8,
                "active": True,
            }
            families.append(family)
            for k in range(1 if rng.random() < 0.7 else 2):
                plots.append(_plot(rng, coop, spec, family, community, k, park, now))
        demo.families[spec.code] = families
        demo.plots[spec.code] = plots
    _place_special_plots(demo, park)
    for spec in COOPS:
        session.execute(insert(Family), demo.families[spec.code])
        session.execute(insert(Plot), demo.plots[spec.code])
        coop = demo.coops[spec.code]
        for model, rows in ((Family, demo.families[spec.code]), (Plot, demo.plots[spec.code])):
            audit.record_rows(
                session, model=model, cooperative_id=coop.id, rows=rows, summary={"demo": True}
            )


def _plot(
    rng: random.Random,
    coop: Cooperative,
    spec: CoopSpec,
    family: dict,
    community: Community,
    k: int,
    park: Polygon,
    now: object,
) -> dict:
    lon, lat = _spot(rng, community.region, park)
    coffee = spec.crop == "coffee"
    area_ha = round(rng.uniform(0.5, 3.5) if rng.random() < 0.85 else rng.uniform(4.2, 7.5), 2)
    area_m2 = int(area_ha * 10_000)
    polygon = area_m2 > 40_000 or rng.random() < 0.35
    geometry: dict = {"type": "Point", "coordinates": [lon, lat]}
    geodesic = None
    if polygon:
        shape_ = _polygon(rng, lon, lat, area_m2 * rng.uniform(0.92, 1.08))
        geometry = mapping(shape_)
        geometry = {
            "type": "Polygon",
            "coordinates": [[list(p) for p in geometry["coordinates"][0]]],
        }
        geodesic = geodesic_area_m2(shape_)
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "cooperative_id": coop.id,
        "family_id": family["id"],
        "name": f"Parcela {k + 1}",
        "crop": spec.crop,
        "area_m2": area_m2,
        "altitude_m": rng.randint(950, 1750) if coffee else rng.randint(220, 680),
        "expected_yield_kg_ha": rng.randint(700, 1000) if coffee else rng.randint(500, 850),
        "geometry_geojson": json.dumps(geometry),
        "geodesic_area_m2": geodesic,
        "centroid_lon": lon,
        "centroid_lat": lat,
    }


def _place_special_plots(demo: Demo, park: Polygon) -> None:
    """One coffee plot inside the park (rule 5) and one small plot for an over-cap family (rule 4)."""
    plots = demo.plots["CAZ"]
    inside = plots[7]
    lon, lat = -75.9, -7.6
    assert park.contains(Point(lon, lat))
    inside.update(
        geometry_geojson=json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        centroid_lon=lon,
        centroid_lat=lat,
        geodesic_area_m2=None,
        area_m2=min(inside["area_m2"], 30_000),
    )
    demo.special["protected_plot_id"] = inside["id"]
    over = plots[11]
    over.update(area_m2=8_000, expected_yield_kg_ha=800)
    over_point = json.loads(over["geometry_geojson"])
    if over_point["type"] != "Point":
        over.update(
            geometry_geojson=json.dumps(
                {"type": "Point", "coordinates": [over["centroid_lon"], over["centroid_lat"]]}
            ),
            geodesic_area_m2=None,
        )
    demo.special["over_cap_family_id"] = over["family_id"]


# One certificate a line: cooperative, key, type, standard, body, body code, number, crops,
# forms, valid from, valid until, basis.
_CERTIFICATE_TABLE = """
CAZ | organic_eu      | organic   | EU organic (Reg. 2018/848)                   | Control Union Peru           | PE-BIO-149   | CU-PE-2026-0871 | coffee |               | 2026-01-15 | 2027-01-14 | segregated
CAZ | organic_eu_2025 | organic   | EU organic (Reg. 2018/848)                   | Control Union Peru           | PE-BIO-149   | CU-PE-2025-0533 | coffee |               | 2025-01-15 | 2026-01-14 | segregated
CAZ | organic_nop     | organic   | USDA NOP                                     | Control Union Certifications | NOP-CU       | NOP-8821-2026   | coffee |               | 2026-02-01 | 2027-01-31 | segregated
CAZ | fairtrade       | fairtrade | Fairtrade Small-scale Producer Organizations | FLOCERT                      | FLO-ID 3456  | FLO-3456-2024   | coffee |               | 2024-03-01 | 2027-02-28 | segregated
CAZ | kosher          | kosher    | Kosher                                       | Orthodox Union (OU Kosher)   | OU           | OU-K-55120      | coffee | green,roasted | 2026-01-01 | 2026-12-31 | segregated
CHU | organic_eu      | organic   | EU organic (Reg. 2018/848)                   | Bio Latina                   | PE-BIO-144   | BL-2026-0417    | cacao  |               | 2026-01-01 | 2026-12-31 | segregated
CHU | fairtrade       | fairtrade | Fairtrade Small-scale Producer Organizations | FLOCERT                      | FLO-ID 28876 | FLO-28876-2025  | cacao  |               | 2025-06-01 | 2028-05-31 | mass_balance
CHU | kosher          | kosher    | Kosher                                       | Kof-K Kosher Supervision     | KOF-K        | KK-2026-7781    | cacao  | dry_beans     | 2026-03-01 | 2027-02-28 | segregated
"""


def _certificate_specs() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """_CERTIFICATE_TABLE as (key, Certificate columns) by cooperative code."""
    specs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for line in _CERTIFICATE_TABLE.strip().splitlines():
        code, key, type_, standard, body, body_code, number, crops, forms, start, until, basis = (
            cell.strip() for cell in line.split("|")
        )
        columns = {
            "type": type_,
            "standard": standard,
            "body": body,
            "body_code": body_code,
            "number": number,
            "crops": crops,
            "forms": forms,
            "valid_from": date.fromisoformat(start),
            "valid_until": date.fromisoformat(until),
            "basis": basis,
        }
        specs.setdefault(code, []).append((key, columns))
    return specs


CERTIFICATES = _certificate_specs()


def build_certificates(session: Session, demo: Demo) -> None:
    """Certificates (one expired, one suspended mid-season), the ICS lists and kosher sites."""
    rng = demo.rng
    now = utcnow()
    manager_ids = {code: demo.users[f"manager.{code}"].id for code in demo.coops}
    for code, specs in CERTIFICATES.items():
        coop = demo.coops[code]
        _add_certificates(session, demo, code, coop, specs)
        certs = demo.certificates[code]
        _suspension_and_sites(session, demo, code, coop, certs, manager_ids)
        rows = _ics_rows(rng, now, demo, code, coop, certs, manager_ids)
        session.execute(insert(CoverageEntry), rows)
        audit.record_rows(
            session, model=CoverageEntry, cooperative_id=coop.id, rows=rows, summary={"demo": True}
        )
    _over_cap_coverage(session, demo, manager_ids)


def _add_certificates(
    session: Session, demo: Demo, code: str, coop: Any, specs: list[tuple[str, dict[str, Any]]]
) -> None:
    """The cooperative's certificates (CERTIFICATES), by key in demo.certificates."""
    demo.certificates[code] = {}
    for key, columns in specs:
        cert = Certificate(cooperative_id=coop.id, **columns)
        session.add(cert)
        demo.certificates[code][key] = cert
    session.flush()


def _suspension_and_sites(
    session: Session,
    demo: Demo,
    code: str,
    coop: Any,
    certs: dict[str, Certificate],
    manager_ids: dict[str, uuid.UUID],
) -> None:
    """USDA NOP suspended mid-season at CAZ; each cooperative's kosher site."""
    if code == "CAZ":
        session.add(
            CertificateStatusChange(
                cooperative_id=coop.id,
                certificate_id=certs["organic_nop"].id,
                status="suspended",
                effective_from=date(2026, 7, 15),
                reason="Suspendido por el certificador: acción correctiva pendiente tras la inspección anual",
                created_by_id=manager_ids[code],
            )
        )
    # CAZ's kosher site is its dry mill (S02), CHU's its fermentation shed (S01).
    site, since = (
        (demo.sites[code][1], date(2026, 1, 1))
        if code == "CAZ"
        else (demo.sites[code][0], date(2026, 3, 1))
    )
    session.add(
        SiteCoverage(
            cooperative_id=coop.id, certificate_id=certs["kosher"].id, site_id=site.id, since=since
        )
    )


def _ics_rows(
    rng: Any,
    now: Any,
    demo: Demo,
    code: str,
    coop: Any,
    certs: dict[str, Certificate],
    manager_ids: dict[str, uuid.UUID],
) -> list[dict]:
    """The organic and fair-trade ICS lists: most families certified, a few not."""
    rows = []
    for family in demo.families[code]:
        for cert in certs.values():
            if cert.type not in ("organic", "fairtrade"):
                continue
            roll = rng.random()
            if cert.type == "organic":
                status = (
                    "certified"
                    if roll < 0.85
                    else "in_conversion"
                    if roll < 0.93
                    else "excluded"
                    if roll < 0.97
                    else None
                )
            else:
                status = "certified" if roll < 0.9 else None
            if status is None:
                continue
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "cooperative_id": coop.id,
                    "certificate_id": cert.id,
                    "family_id": family["id"],
                    "status": status,
                    "since": cert.valid_from,
                    "created_by_id": manager_ids[code],
                }
            )
    return rows


def _over_cap_coverage(session: Session, demo: Demo, manager_ids: dict[str, uuid.UUID]) -> None:
    # The over-cap family is certified under every family certificate, so the cap bites.
    over = cast(uuid.UUID, demo.special["over_cap_family_id"])
    coop = demo.coops["CAZ"]
    for key in ("organic_eu", "organic_nop", "fairtrade"):
        cert = demo.certificates["CAZ"][key]
        session.add(
            CoverageEntry(
                cooperative_id=coop.id,
                certificate_id=cert.id,
                family_id=over,
                status="certified",
                since=date(2026, 3, 1),
                created_by_id=manager_ids["CAZ"],
            )
        )
    session.flush()
