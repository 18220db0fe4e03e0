"""Plots as the API and the forms read and write them: GeoJSON in `geometry`.

A point may also be given as `latitude` and `longitude` (a form, a spreadsheet); the
geometry itself is validated by services/geo.py against the EUDR rules.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load

from .common import Id, parse_decimal
from .intake import IntakeSchema, Text, WholeNumber, crop_field, length


class Hectares(fields.Field):
    """Hectares at the edge, whole square metres inside: 1.5 <-> 15000."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else round(value / 10_000, 4)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        number = parse_decimal(value)
        if not Decimal("0") < number <= Decimal("10000"):
            raise ValidationError(str(_l("The area must be more than 0 ha.")))
        square_metres = int((number * 10_000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        if square_metres <= 0:
            raise ValidationError(str(_l("The area must be more than 0 ha.")))
        return square_metres


class GeoJSON(fields.Field):
    """A GeoJSON geometry: an object, or its text (pasted into a form or a CSV cell)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return json.loads(value) if value else None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict | str):
            return value
        raise ValidationError(str(_l("This is not valid GeoJSON.")))


class Coordinate(fields.Field):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        try:
            return float(parse_decimal(value))
        except ValidationError:
            raise ValidationError(str(_l("Coordinates must be numbers."))) from None


class PlotSchema(IntakeSchema):
    id = Id(dump_only=True)
    family_id = Id(dump_only=True)
    name = Text(required=True, validate=length(100, 1))
    crop = crop_field(required=True)
    area_ha = Hectares(required=True, attribute="area_m2")
    altitude_m = WholeNumber(
        load_default=None,
        allow_none=True,
        minimum=-100,
        maximum=7000,
        message=_l("Altitude must be between -100 and 7,000 m."),
    )
    expected_yield_kg_ha = WholeNumber(
        load_default=0,
        minimum=0,
        maximum=20_000,
        message=_l("Expected yield must be between 0 and 20,000 kg/ha."),
    )
    geometry = GeoJSON(load_default=None, allow_none=True, attribute="geometry_geojson")
    latitude = Coordinate(load_only=True, load_default=None, allow_none=True)
    longitude = Coordinate(load_only=True, load_default=None, allow_none=True)
    flags = fields.List(fields.String(), dump_only=True)
    measured_area_ha = Hectares(dump_only=True, attribute="geodesic_area_m2")

    @post_load
    def _point_from_latlon(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """`geometry` is what the service takes; a lat/lon pair becomes a GeoJSON Point."""
        lat, lon = data.pop("latitude", None), data.pop("longitude", None)
        if "geometry_geojson" in data:
            data["geometry"] = data.pop("geometry_geojson")
        if lat is None and lon is None:
            return data
        if lat is None or lon is None:
            raise ValidationError(
                {"latitude": [str(_l("Give both latitude and longitude, or neither."))]}
            )
        if data.get("geometry"):
            raise ValidationError(
                {
                    "geometry": [
                        str(_l("Give either a point (latitude, longitude) or a GeoJSON geometry."))
                    ]
                }
            )
        data["geometry"] = {"type": "Point", "coordinates": [lon, lat]}
        return data


class ResolveFlagSchema(IntakeSchema):
    kind = fields.String(required=True)
    reason = Text(required=True, validate=length(500, 1))


class PlotPatchSchema(PlotSchema):
    """PATCH /plots/{id}: load with partial=True (only the fields sent change)."""
