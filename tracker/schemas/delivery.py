"""Deliveries as the API, the clerk's form and the CSV import read them.

One set of field instances: the CSV importer deserialises each cell with the very fields
below, so a bad weight reads the same in a form, a JSON body or a spreadsheet.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from ..models.delivery import MAX_GROSS_G
from .common import Id, Kilograms, Money
from .intake import (
    Decimal1,
    IntakeSchema,
    LocalDate,
    Text,
    YesNo,
    crop_field,
    form_field,
    length,
)

MAX_KG = MAX_GROSS_G // 1000  # the one weight limit, in the unit people type


class DeliverySchema(IntakeSchema):
    id = Id(dump_only=True)
    family_id = Id(load_default=None, allow_none=True)
    # The member code from the card (typed or scanned) may stand for family_id.
    member_code = Text(load_only=True, load_default=None, allow_none=True, validate=length(30))
    plot_id = Id(load_default=None, allow_none=True)
    crop = crop_field(required=True)
    form = form_field(required=True)
    delivered_on = LocalDate(load_default=None, allow_none=True)
    gross_kg = Kilograms(attribute="gross_g", required=True, maximum=MAX_KG)
    tare_kg = Kilograms(attribute="tare_g", load_default=0, maximum=MAX_KG)
    net_kg = Kilograms(attribute="net_g", dump_only=True)
    moisture_pct = Decimal1(
        attribute="moisture_dpct",
        load_default=None,
        allow_none=True,
        minimum=0,
        maximum=100,
        message=_l("Moisture must be between 0 and 100 %."),
    )
    grade = Text(load_default="", validate=length(20))
    price_per_kg = Money(attribute="price_per_kg_minor", load_default=0, maximum=Decimal(100_000))
    premium_per_kg = Money(
        attribute="premium_per_kg_minor", load_default=0, maximum=Decimal(100_000)
    )
    # Coffee is priced per quintal in Peru: 46 kg green, 55.2 kg dry parchment.
    price_per_quintal = Money(
        load_only=True, load_default=None, allow_none=True, maximum=Decimal(10_000_000)
    )
    amount = Money(attribute="amount_minor", dump_only=True)
    premium_amount = Money(attribute="premium_minor", dump_only=True)
    paper_receipt = Text(load_default=None, allow_none=True, validate=length(30))
    # "Precio por definir": no price yet; the payments page lists it until one is set.
    price_pending = YesNo(load_default=False)
    # The collection centre's code; a clerk's own centre by default.
    centre = Text(load_only=True, load_default=None, allow_none=True, validate=length(10))
    receipt_number = fields.String(dump_only=True)
    claims = fields.List(fields.Dict(), dump_only=True)
    flags = fields.List(fields.String(), dump_only=True)
    voided = fields.Boolean(dump_only=True)
    void_reason = fields.String(dump_only=True, allow_none=True)
    replaces_id = Id(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class DeliveryListSchema(IntakeSchema):
    """Filters of GET /cooperatives/{code}/deliveries."""

    family_id = Id(load_default=None)
    centre = Text(load_default=None, validate=length(10))
    delivered_from = LocalDate(data_key="from", load_default=None)
    delivered_to = LocalDate(data_key="to", load_default=None)


class DeliveryVoidSchema(IntakeSchema):
    """POST /deliveries/{id}/void: a reason, and optionally the corrected delivery."""

    reason = Text(required=True, validate=length(500, 1))
    corrected = fields.Nested(DeliverySchema, load_default=None, allow_none=True)
