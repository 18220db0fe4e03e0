"""Filters of the deliveries that can go into a lot: the lot-forming page's and the API's
list of deliveries (GET /cooperatives/{code}/deliveries) read the same fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate as v

from ..models.enums import Basis
from .common import Id
from .intake import IntakeSchema, LocalDate, Text, YesNo, crop_field, form_field, length

MAX_CLAIMS = 10


class DeliveryFilterSchema(IntakeSchema):
    """Crop, form, claims (every one named must be carried) and their basis, grade,
    community, a receipt number or member code, and only what can still go into a lot."""

    crop = crop_field(load_default=None)
    form = form_field(load_default=None)
    claim = fields.List(
        Text(validate=length(40, 1)),
        load_default=list,
        validate=v.Length(max=MAX_CLAIMS, error=_l("At most {max} claims.")),
        metadata={"description": "claim types the deliveries must all carry (repeatable)"},
    )
    basis = fields.String(
        load_default=None,
        validate=v.OneOf([str(b) for b in Basis], error=_l("Choose segregated or mass balance.")),
        metadata={"description": "segregated or mass_balance: the basis of the claims named"},
    )
    grade = Text(load_default=None, validate=length(20))
    community_id = Id(load_default=None)
    available = YesNo(
        load_default=False,
        metadata={"description": "true: only deliveries not voided with kilos not yet in a lot"},
    )
    q = Text(
        load_default=None,
        validate=length(30),
        metadata={"description": "receipt number or member code"},
    )


class LotFormingFilterSchema(DeliveryFilterSchema):
    """The lot-forming page: a centre by id, and dates as the date inputs send them."""

    centre = Id(load_default=None)
    since = LocalDate(load_default=None)
    until = LocalDate(load_default=None)
