"""The lot's public facts as JSON: a whitelist, so a new private column can never leak.

Dumps a `services.provenance.Provenance`; only the fields declared here leave the
server. Weights are kilograms as JSON numbers, money decimal strings, dates ISO 8601.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from .. import config


def public_link(path: str) -> str:
    """An absolute URL on the cooperative's public host (TRACKER_PUBLIC_URL)."""
    return config.public_url().rstrip("/") + path


def certificate_path(certificate_id: Any) -> str:
    return f"/cert/{certificate_id}"


def _kg(grams: int) -> float:
    return grams / 1000


class PlaceSchema(Schema):
    name = fields.String()
    district = fields.String()
    province = fields.String()
    region = fields.String()


class CertificatePublicSchema(Schema):
    id = fields.String()
    type = fields.String()
    standard = fields.String()
    body = fields.String()
    body_code = fields.String()
    number = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    status = fields.String(
        metadata={"description": "today's: active, suspended, withdrawn, expired, not_yet_valid"}
    )
    status_since = fields.Date(attribute="since", allow_none=True)
    url = fields.Function(lambda c: public_link(certificate_path(c.id)))
    document_url = fields.Function(
        lambda c: public_link(certificate_path(c.id) + "/document.pdf") if c.has_document else None
    )


def _qualified(name: str) -> Any:
    """A fact of the certificate's qualification behind this claim (services/claim_text)."""
    return fields.Function(
        lambda c: c.qualification.as_json()[name] if c.qualification is not None else None
    )


class ClaimCertificatePublicSchema(CertificatePublicSchema):
    """A certificate behind a claim: in force on the dates the claim rests on (harvest or
    processing), and today; the sentence in Spanish and English."""

    held_on_dates = _qualified("held_on_dates")
    dates = _qualified("dates")
    qualification = _qualified("qualification")


class ClaimPublicSchema(Schema):
    type = fields.String()
    basis = fields.String()
    covers = fields.String(metadata={"description": "families (producers) or sites (kosher)"})
    certificates = fields.List(fields.Nested(ClaimCertificatePublicSchema))


class OriginSchema(Schema):
    communities = fields.List(fields.Nested(PlaceSchema))
    regions = fields.List(fields.String())
    altitude_m = fields.Function(lambda o: {"min": o.altitude_min, "max": o.altitude_max})
    families = fields.Integer()
    woman_led_families = fields.Integer(attribute="woman_led")
    woman_led_pct = fields.Integer()
    family_names = fields.List(fields.String(), attribute="consented_names")
    plots = fields.Integer()
    area_ha = fields.Float()


class StepSchema(Schema):
    kind = fields.String()
    process = fields.String(allow_none=True)
    form = fields.String()
    lots = fields.Integer()
    first_on = fields.Date()
    last_on = fields.Date()
    weight_kg = fields.Function(lambda s: _kg(s.weight_g))
    sites = fields.List(fields.String())
    lot_codes = fields.List(fields.String(), attribute="codes")


class ShipmentPublicSchema(Schema):
    shipped_on = fields.Date()
    country = fields.String()


class JourneySchema(Schema):
    first_delivery = fields.Date(allow_none=True)
    last_delivery = fields.Date(allow_none=True)
    deliveries = fields.Integer()
    steps = fields.List(fields.Nested(StepSchema))
    shipments = fields.List(fields.Nested(ShipmentPublicSchema))


class PriceSchema(Schema):
    form = fields.String()
    currency = fields.String()
    price_per_kg = fields.Decimal(as_string=True)
    premium_per_kg = fields.Decimal(as_string=True)
    kg = fields.Float()


class DeforestationSchema(Schema):
    cutoff = fields.Date()
    status = fields.String()
    plots = fields.Integer()
    flagged_in_protected_area = fields.Integer(attribute="flagged")
    without_location = fields.Integer()


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON with 5 decimals (about 1 m): enough for a map, no false precision."""

    def walk(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return round(float(value), 5)

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _plots_geojson(facts: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": _rounded(plot.geometry),
                "properties": {
                    "area_ha": plot.area_ha,
                    "altitude_m": plot.altitude_m,
                    "protected_area": plot.flagged,
                },
            }
            for plot in facts.plots
        ],
    }


class ProvenanceSchema(Schema):
    """What `/l/{token}` (and the lot's Digital Link) answer with `Accept: application/json`."""

    lot = fields.Function(
        lambda f: {
            "code": f.code,
            "crop": f.crop,
            "form": f.form,
            "product": f.product_name,
            "weight_kg": _kg(f.weight_g),
            "gtin": f.gtin,
            "season": f.season,
            "uri": f.uri,
            "page_url": f.links.page,
            "sheet_url": f.links.sheet,
            "events_url": f.links.events,
        }
    )
    cooperative = fields.Function(lambda f: {"name": f.cooperative, "country": f.country})
    origin = fields.Nested(OriginSchema)
    plots = fields.Function(_plots_geojson)
    claims = fields.List(fields.Nested(ClaimPublicSchema))
    journey = fields.Nested(JourneySchema)
    prices = fields.Function(
        lambda f: {
            "shown": not f.price_hidden,
            "minimum_families": f.min_families_for_price,
            "forms_withheld": f.prices_withheld,
            # kilos of the lot's deliveries whose price is still to be set: in no average
            "pending_kg": round(f.prices_pending_g / 1000, 1),
            "per_kg": PriceSchema(many=True).dump(f.prices),
        }
    )
    deforestation = fields.Nested(DeforestationSchema)
    issued_on = fields.Date(attribute="today")
