"""Lots and lot operations as the API takes and gives them (API.md: lots, trace)."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from ..models.enums import Crop, Form, Process
from .common import Id, Kilograms, StrictSchema

MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field cannot be empty."),
    "invalid": _l("Not a valid value."),
    "validator_failed": _l("Not a valid value."),
    "invalid_uuid": _l("Not a valid id."),
}


class InputSchema(StrictSchema):
    """Input with translated messages, naming the field; unknown fields are refused."""

    error_messages = {"unknown": _l("Unknown field.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            _translate(field)

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """Translate the messages now (in the request's language), each field a list."""
        _plain(error.messages)


def _plain(messages: Any) -> Any:
    if isinstance(messages, dict):
        for key, value in messages.items():
            messages[key] = _plain(value)
        return messages
    if isinstance(messages, list):
        return [_plain(m) if isinstance(m, dict | list) else str(m) for m in messages]
    return [str(messages)]


def _translate(field: fields.Field) -> None:
    for key, message in MESSAGES.items():
        if key in field.error_messages:
            field.error_messages[key] = message
    inner = getattr(field, "inner", None)
    if inner is not None:
        _translate(inner)


def one_of(choices: Any) -> validate.OneOf:
    return validate.OneOf([str(c) for c in choices], error=_l("Choose one of: {choices}."))


def length(lo: int, hi: int) -> validate.Length:
    return validate.Length(
        min=lo, max=hi, error=_l("Give from %(lo)s to %(hi)s items.", lo=lo, hi=hi)
    )


def text(limit: int) -> validate.Length:
    return validate.Length(max=limit, error=_l("At most %(n)s characters.", n=limit))


def reason_field() -> fields.String:
    """Why a record is voided or a status changed: required, 1 to 500 characters."""
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=500, error=_l("Say why, in at most 500 characters.")),
    )


class Kg(Kilograms):
    """Kilograms that also refuse numbers too large to count in grams (1e400)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except InvalidOperation:
            raise ValidationError(
                str(_l("Must be between %(lo)s and %(hi)s kg.", lo=self.minimum, hi=self.maximum))
            ) from None


class PickSchema(InputSchema):
    delivery_id = Id(required=True)
    kg = Kg(minimum=0.001, load_default=None, allow_none=True)


class LotCreateSchema(InputSchema):
    crop = fields.String(required=True, validate=one_of(Crop))
    form = fields.String(required=True, validate=one_of(Form))
    deliveries = fields.List(fields.Nested(PickSchema), required=True, validate=length(1, 10_000))
    gtin = fields.String(load_default=None, allow_none=True, validate=text(14))
    occurred_on = fields.Date(load_default=None, allow_none=True)
    site_id = Id(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=text(500))


class LotMergeSchema(InputSchema):
    lot_ids = fields.List(Id(), required=True, validate=length(2, 500))
    occurred_on = fields.Date(load_default=None, allow_none=True)
    site_id = Id(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=text(500))


class LotSplitSchema(InputSchema):
    # Loaded under the services' parameter names (parts_g, output_g): a view passes **data.
    parts_kg = fields.List(
        Kg(minimum=0.001), required=True, validate=length(2, 100), attribute="parts_g"
    )
    occurred_on = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=text(500))


class LotProcessSchema(InputSchema):
    process = fields.String(required=True, validate=one_of(Process))
    output_form = fields.String(required=True, validate=one_of(Form))
    output_kg = Kg(required=True, minimum=0.001, attribute="output_g")
    confirm_yield = fields.Boolean(load_default=False)
    site_id = Id(load_default=None, allow_none=True)
    occurred_on = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=text(500))


class VoidSchema(InputSchema):
    reason = reason_field()


class ClaimSchema(StrictSchema):
    type = fields.String()
    basis = fields.String()
    certificate_ids = fields.List(fields.String())


class LeftOutSchema(StrictSchema):
    certifier = fields.String()
    status = fields.String(
        metadata={"description": "today's: active, suspended, withdrawn, expired, not_yet_valid"}
    )
    since = fields.Date(allow_none=True)
    held = fields.Boolean(metadata={"description": "in force on every date the claim rests on"})
    text = fields.Function(
        lambda item: item.text(), metadata={"description": "as the manager's page says it"}
    )


class LabelClaimSchema(StrictSchema):
    """A claim as the lot's sack labels print it today (services/printing.label_claims)."""

    type = fields.String()
    basis = fields.String()
    printed = fields.Boolean(attribute="in_force")
    certifiers = fields.List(fields.String())
    left_out = fields.List(fields.Nested(LeftOutSchema))


class LotSchema(StrictSchema):
    """A lot for members of its cooperative (API.md field names)."""

    id = Id(dump_only=True)
    code = fields.String(dump_only=True)
    public_token = fields.String(dump_only=True)
    public_url = fields.String(dump_only=True)
    digital_link = fields.String(dump_only=True, allow_none=True)
    crop = fields.String(dump_only=True)
    form = fields.String(dump_only=True)
    weight_kg = Kilograms(attribute="weight_g", dump_only=True)
    available_kg = Kilograms(attribute="available_g", dump_only=True)
    gtin = fields.String(dump_only=True, allow_none=True)
    claims = fields.List(fields.Nested(ClaimSchema), dump_only=True)
    status = fields.String(dump_only=True)
    season = fields.Integer(dump_only=True)
    occurred_on = fields.Date(dump_only=True)
    operation_id = Id(dump_only=True)
    site_id = Id(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    published_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Since when its GS1 Digital Link opens it (null: not yet)"},
    )
    label_claims = fields.List(
        fields.Nested(LabelClaimSchema),
        dump_only=True,
        metadata={
            "description": "One lot only: its claims as sack labels printed today show them, "
            "the certifiers they name and those they leave out (not in force today, or not "
            "on every date the claim rests on); a claim not printed at all says so"
        },
    )


class LotRefSchema(StrictSchema):
    """A lot as a list names it (forward in a trace, in a shipment): its subclasses add
    their own kilograms after these."""

    id = Id()
    code = fields.String()
    crop = fields.String()
    form = fields.String()


class LotBriefSchema(LotRefSchema):
    weight_kg = Kilograms(attribute="weight_g")
    available_kg = Kilograms(attribute="available_g")
    status = fields.String()


class LotQuerySchema(InputSchema):
    status = fields.String(
        load_default=None, validate=one_of(["open", "consumed", "shipped", "voided"])
    )
    crop = fields.String(load_default=None, validate=one_of(Crop))
    form = fields.String(load_default=None, validate=one_of(Form))
    season = fields.Integer(load_default=None, validate=validate.Range(2000, 2100))
    q = fields.String(load_default=None, validate=text(20))


class OperationSchema(StrictSchema):
    id = Id()
    kind = fields.String()
    process = fields.String(allow_none=True)
    occurred_on = fields.Date()
    input_kg = Kilograms(attribute="input_g")
    output_kg = Kilograms(attribute="output_g")
    loss_kg = Kilograms(attribute="loss_g")
    yield_confirmed = fields.Boolean()
    site_id = Id(allow_none=True)
    note = fields.String()
    voided = fields.Boolean()
    void_reason = fields.String(allow_none=True)


class TraceDeliverySchema(StrictSchema):
    delivery_id = Id()
    family_id = Id()
    plot_id = Id()
    receipt_number = fields.String()
    delivered_on = fields.Date()
    kg = Kilograms(attribute="grams")


class TraceShipmentSchema(StrictSchema):
    id = Id()
    buyer_name = fields.String()
    buyer_country = fields.String()
    shipped_on = fields.Date()
    container = fields.String()


class TraceBackwardSchema(StrictSchema):
    deliveries = fields.List(fields.Nested(TraceDeliverySchema))


class TraceForwardSchema(StrictSchema):
    lots = fields.List(fields.Nested(LotBriefSchema))
    shipments = fields.List(fields.Nested(TraceShipmentSchema))


class TraceSchema(StrictSchema):
    backward = fields.Nested(TraceBackwardSchema)
    forward = fields.Nested(TraceForwardSchema)
