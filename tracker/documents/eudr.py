"""The EUDR due-diligence package of a shipment or of one lot: geolocation GeoJSON and a
PDF summary (shipments).

Regulation (EU) 2023/1115: the operator who first places the coffee or cocoa on the EU
market files the due diligence statement; the cooperative supplies the geolocation of
every plot behind the shipment, as the EU information system reads it
(../shared/standards/README.md):

- a GeoJSON FeatureCollection in WGS 84, positions [longitude, latitude], at most 6
  decimals (truncated, as the information system does);
- one Feature per plot: Point (a plot up to 4 ha) or Polygon (required over 4 ha), no
  holes, no self-intersection, rings closed;
- properties ProducerName (the family head where the family consented to show its name,
  else its member code: `PlotRow.producer`), ProducerCountry
  (ISO alpha-2), ProductionPlace, Area (hectares, a JSON number; 0.0001 to 4 for points).
  Nothing else: never a national ID or a phone;
- at most 1,000 producers per commodity and 25 MB per file: larger shipments are split
  into parts (one commodity per part), numbered from 1.

The index and the PDF summary give the production period (Art. 9(1)(c)), the first and
last harvest days behind the package, and each plot's own.

The package is refused, naming every plot to fix, when a plot lies in the protected area
(an unresolved flag, a delivery flagged there, or its geometry inside the boundary), has
no geolocation, is over 4 ha without a polygon, or has a geometry the system would reject.

A shipment's package and a lot's (for an importer who asks before buying) go through one
path, `build`: the plots of the lots' whole ancestry (`services/eudr_facts.py` reads
them; this module runs no query), checked, then split.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from .. import formatting
from ..models import Cooperative, Lot, Plot, Shipment
from ..services import conversions
from ..services.errors import ValidationFailed
from ..services.eudr_facts import Origin, PlotRow, Summary
from ..services.geo import COUNTRY_BOXES, POINT_MAX_M2, truncate6
from . import content_cache

MEDIA_TYPE = "application/geo+json"
MAX_PRODUCERS = 1_000  # per commodity in one statement
MAX_BYTES = 25_000_000  # 25 MB of geolocation per statement
CUT_OFF = date(2020, 12, 31)
HS_CODES = {"coffee": "0901", "cacao": "1801"}
COMMODITIES = {"coffee": _l("coffee"), "cacao": _l("cocoa")}


class PackageRefused(ValidationFailed):
    """Some plots must be fixed before the EU information system would accept the file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__({"plots": problems})
        self.problems = problems

    def text(self) -> str:
        return formatting.ngettext(
            "The EUDR geolocation cannot be made: %(num)s plot must be fixed first.",
            "The EUDR geolocation cannot be made: %(num)s plots must be fixed first.",
            len(self.problems),
        )


@dataclass
class Part:
    """One GeoJSON file of the package."""

    number: int
    crop: str
    features: list[bytes] = field(default_factory=list)
    producers: set[uuid.UUID] = field(default_factory=set)
    size: int = len(b'{"type":"FeatureCollection","features":[]}')

    @property
    def hs_code(self) -> str:
        return HS_CODES.get(self.crop, "")

    @property
    def plots(self) -> int:
        return len(self.features)

    def body(self) -> bytes:
        return b'{"type":"FeatureCollection","features":[' + b",".join(self.features) + b"]}"


@dataclass
class Package:
    """The checked package: the facts it was made of and its GeoJSON parts."""

    origin: Origin
    parts: list[Part]

    @property
    def shipment(self) -> Shipment | None:
        """None for a lot's package."""
        return self.origin.shipment

    @property
    def lot(self) -> Lot | None:
        """The lot, for a lot's package."""
        return self.origin.lot

    @property
    def coop(self) -> Cooperative:
        return self.origin.coop

    @property
    def rows(self) -> list[PlotRow]:
        return self.origin.rows

    @property
    def lots(self) -> list[tuple[Lot, int]]:
        return self.origin.lots

    @property
    def for_shipment(self) -> Shipment:
        assert self.shipment is not None
        return self.shipment

    @property
    def producers(self) -> int:
        return len({r.family.id for r in self.rows})

    @property
    def area_m2(self) -> int:
        return sum(r.plot.area_m2 for r in self.rows)

    @property
    def area_ha(self) -> float:
        return round(self.area_m2 / 10_000, 4)

    def part(self, number: int) -> Part:
        if not 1 <= number <= len(self.parts):
            raise ValidationFailed(
                {"part": [str(_l("Choose a part from 1 to %(n)s.", n=len(self.parts)))]}
            )
        return self.parts[number - 1]


def _position(value: Any, box: tuple[float, float, float, float] | None) -> list[float]:
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("range")
    if box is not None:
        west, south, east, north = box
        if not (west <= lon <= east and south <= lat <= north):
            raise ValueError("country")
    return [truncate6(lon), truncate6(lat)]


def geometry_for(plot: Plot, country: str) -> tuple[dict[str, Any] | None, str | None]:
    """The plot's EUDR geometry, or why it cannot be given (a translated reason)."""
    if not plot.geometry_geojson:
        return None, str(_l("no geolocation"))
    box = COUNTRY_BOXES.get(country)
    try:
        value = json.loads(plot.geometry_geojson)
        kind = value.get("type")
        coords = value.get("coordinates")
        if kind == "Point":
            if plot.area_m2 > POINT_MAX_M2:
                return None, str(
                    _l(
                        "%(ha)s ha mapped as a point: a plot over 4 ha needs a polygon",
                        ha=formatting.number(plot.area_m2 / 10_000, "#,##0.0#"),
                    )
                )
            return {"type": "Point", "coordinates": _position(coords, box)}, None
        if kind != "Polygon":
            return None, str(_l("its geometry is neither a point nor a polygon"))
        if len(coords) != 1:
            return None, str(_l("its polygon has holes"))
        ring = [_position(p, box) for p in coords[0]]
        if len(ring) < 4 or ring[0] != ring[-1]:
            return None, str(_l("its polygon ring is not closed"))
        polygon = orient(Polygon(ring), sign=1.0)  # RFC 7946: exterior ring counter-clockwise
        if not polygon.is_valid or polygon.area == 0:
            return None, str(_l("its polygon crosses itself"))
        ring = [[truncate6(x), truncate6(y)] for x, y in polygon.exterior.coords]
        if not Polygon(ring).is_valid:
            return None, str(_l("its polygon crosses itself"))
        return {"type": "Polygon", "coordinates": [ring]}, None
    except ValueError as error:
        if str(error) == "country":
            return None, str(
                _l("its coordinates are outside %(country)s (or lat/lon swapped)", country=country)
            )
        return None, str(_l("its coordinates are not valid"))
    except (TypeError, KeyError, IndexError, AttributeError):
        return None, str(_l("its coordinates are not valid"))


def feature(row: PlotRow, geometry: dict[str, Any], country: str) -> dict[str, Any]:
    """One Feature with exactly the properties the EU information system reads."""
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "ProducerName": row.producer,
            "ProducerCountry": country,
            "ProductionPlace": row.place,
            "Area": row.area_ha,
        },
    }


def split(
    encoded: list[tuple[PlotRow, bytes]],
    max_producers: int | None = None,
    max_bytes: int | None = None,
) -> list[Part]:
    """Parts of one commodity each, at most max_producers producers and max_bytes bytes; a
    producer's plots stay together in one part."""
    max_producers = max_producers or MAX_PRODUCERS
    max_bytes = max_bytes or MAX_BYTES
    groups: dict[tuple[str, uuid.UUID], list[bytes]] = {}
    for row, body in encoded:
        groups.setdefault((row.crop, row.family.id), []).append(body)
    parts: list[Part] = []
    current: Part | None = None
    for (crop, family_id), bodies in groups.items():
        extra = sum(len(b) for b in bodies) + len(bodies)  # the commas
        if (
            current is None
            or current.crop != crop
            or len(current.producers) >= max_producers
            or current.size + extra > max_bytes
        ):
            current = Part(number=len(parts) + 1, crop=crop)
            parts.append(current)
        current.features.extend(bodies)
        current.producers.add(family_id)
        current.size += extra
    return parts


def build(origin: Origin) -> Package:
    """The checked and split package of a shipment (`eudr_facts.for_shipment`) or of a lot
    (`eudr_facts.for_lot`): one path; raises PackageRefused naming every plot to fix."""
    return Package(origin, _checked(origin))


def _checked(origin: Origin) -> list[Part]:
    """The plots behind the lots as GeoJSON parts; PackageRefused names every plot to fix."""
    coop, rows, protected = origin.coop, origin.rows, origin.protected
    problems: list[str] = []
    encoded: list[tuple[PlotRow, bytes]] = []
    for row in rows:
        reasons = []
        if row.plot.id in protected:
            reasons.append(str(_l("inside the protected area")))
        geometry, reason = geometry_for(row.plot, coop.country)
        if reason:
            reasons.append(reason)
        if reasons:
            problems.append(
                str(
                    _l(
                        "%(member)s %(producer)s, %(plot)s (plot %(id)s): %(reasons)s",
                        member=row.family.member_code,
                        producer=row.family.head_name,
                        plot=row.plot.name,
                        id=str(row.plot.id),
                        reasons="; ".join(reasons),
                    )
                )
            )
            continue
        assert geometry is not None
        body = json.dumps(
            feature(row, geometry, coop.country), ensure_ascii=False, separators=(",", ":")
        ).encode()
        encoded.append((row, body))
    if problems:
        raise PackageRefused(problems)
    return split(encoded)


def filename(package: Package, part: Part) -> str:
    if package.lot is not None:
        base = f"eudr-{package.coop.code}-lot-{package.lot.code}"
    else:
        base = f"eudr-{package.coop.code}-{package.for_shipment.shipped_on.isoformat()}"
        if package.for_shipment.container:
            base += f"-{package.for_shipment.container}"
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base)
    if len(package.parts) > 1:
        return f"{base}-part-{part.number}-of-{len(package.parts)}.geojson"
    return f"{base}.geojson"


def index(package: Package, part_url: Any) -> dict[str, Any]:
    """The package at a glance: how many files, and what each holds."""
    subject: dict[str, Any] = (
        {"lot_id": str(package.lot.id), "lot_code": package.lot.code}
        if package.lot is not None
        else {
            "shipment_id": str(package.for_shipment.id),
            "shipped_on": package.for_shipment.shipped_on.isoformat(),
        }
    )
    period = package.origin.production
    return subject | {
        "cooperative": package.coop.code,
        "producer_country": package.coop.country,
        "producers": package.producers,
        "plots": len(package.rows),
        "area_ha": package.area_ha,
        "deforestation_cut_off": CUT_OFF.isoformat(),
        # The date range of production a due diligence statement gives (Art. 9(1)(c)).
        "production_period": (
            {"from": period[0].isoformat(), "to": period[1].isoformat()} if period else None
        ),
        "parts": len(package.parts),
        "files": [
            {
                "part": part.number,
                "commodity": part.crop,
                "hs_code": part.hs_code,
                "producers": len(part.producers),
                "plots": part.plots,
                "bytes": len(part.body()),
                "filename": filename(package, part),
                "url": part_url(part.number),
            }
            for part in package.parts
        ],
    }


@content_cache.by_content("eudr_summary")  # seconds of CPU: rendered once per content
def summary_pdf(package: Package, summary: Summary) -> bytes:
    """The one-page-and-annex PDF/A summary: plots, areas, the statement, the certificates
    (`eudr_facts.summary`)."""
    from flask_babel import get_locale

    from ..services.vocabulary import FORM_LABELS, REPORT_CLAIM_LABELS, label
    from . import pdf
    from .season_report import Fmt

    return pdf.render(
        "pdf/eudr_summary.html",
        package=package,
        coop=package.coop,
        shipment=package.shipment,
        certificates=summary.certificates,
        qualified=summary.qualified,
        commodities={crop: str(COMMODITIES.get(crop, crop)) for crop in HS_CODES},
        units=", ".join(sorted({conversions.ledger_unit(part.crop) for part in package.parts})),
        hs_codes=HS_CODES,
        cut_off=CUT_OFF,
        fmt=Fmt(str(get_locale() or "es"), package.coop.currency),
        claim_labels=REPORT_CLAIM_LABELS,
        form_labels=FORM_LABELS,
        label=label,
    )


def summary_filename(package: Package) -> str:
    return f"eudr-{package.coop.code}-{package.for_shipment.shipped_on.isoformat()}.pdf"


__all__ = [
    "CUT_OFF",
    "MAX_BYTES",
    "MAX_PRODUCERS",
    "MEDIA_TYPE",
    "Package",
    "PackageRefused",
    "Part",
    "build",
    "feature",
    "filename",
    "geometry_for",
    "index",
    "split",
    "summary_pdf",
]
