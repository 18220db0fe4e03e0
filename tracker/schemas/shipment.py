"""Shipments as the API takes and gives them (API.md: shipments)."""

from __future__ import annotations

from marshmallow import fields

from .common import Id, Kilograms, StrictSchema
from .lot import ClaimSchema, InputSchema, LotRefSchema, length, text


class ShipmentCreateSchema(InputSchema):
    buyer_name = fields.String(required=True, validate=text(200))
    buyer_country = fields.String(required=True, validate=text(2))
    contract = fields.String(load_default="", validate=text(100))
    shipped_on = fields.Date(load_default=None, allow_none=True)
    container = fields.String(load_default="", validate=text(40))
    lot_ids = fields.List(Id(), required=True, validate=length(1, 500))


class ShipmentLotSchema(LotRefSchema):
    kg = Kilograms(attribute="grams")
    gtin = fields.String(allow_none=True)
    claims = fields.List(fields.Nested(ClaimSchema))


class ShipmentSchema(StrictSchema):
    id = Id(dump_only=True)
    buyer_name = fields.String(dump_only=True)
    buyer_country = fields.String(dump_only=True)
    contract = fields.String(dump_only=True)
    shipped_on = fields.Date(dump_only=True)
    container = fields.String(dump_only=True)
    lot_ids = fields.List(Id(), dump_only=True)
    lots = fields.List(fields.Nested(ShipmentLotSchema), dump_only=True)
    weight_kg = Kilograms(attribute="weight_g", dump_only=True)
    voided = fields.Boolean(dump_only=True)
    void_reason = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
