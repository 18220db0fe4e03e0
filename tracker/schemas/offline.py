"""The collection centre offline, as the API reads and writes it: devices, their roster,
receipt-number blocks, deliveries synced under a block's number, and the day's prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate as v

from ..services import receipt_blocks
from .common import Id, Money
from .delivery import DeliverySchema
from .intake import IntakeSchema, LocalDate, Text, form_field, length

MAX_SEQ = 999_999_999


def whole(low: int, high: int, **kwargs: Any) -> fields.Integer:
    """A whole number from `low` to `high`, refused in the reader's language. Strict: 2.5
    (or "2") is refused, never truncated to another receipt number than the one printed."""
    return fields.Integer(
        strict=True,
        validate=v.Range(low, high, error=_l("Give a whole number from {min} to {max}.")),
        **kwargs,
    )


class CentreRef(IntakeSchema):
    id = Id(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class DeviceSchema(IntakeSchema):
    """A device as managers see it (never its token, which is shown once)."""

    id = Id(dump_only=True)
    name = fields.String(dump_only=True)
    centre = fields.Nested(CentreRef, dump_only=True)
    user = fields.String(dump_only=True, metadata={"description": "Who enrolled it"})
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    revoke_reason = fields.String(dump_only=True, allow_none=True)


class EnrolSchema(IntakeSchema):
    """Enrol a device: at the caller's own centre, or the centre named (managers)."""

    centre = Text(load_default=None, allow_none=True, validate=length(10))
    name = Text(load_default="", validate=length(100))


class PageEnrolSchema(EnrolSchema):
    """The intake page's enrolment (offline.js): a new device, or `device_id` to renew."""

    device_id = Text(load_default=None, allow_none=True, validate=length(40))


class EnrolledSchema(IntakeSchema):
    device = fields.Nested(DeviceSchema, dump_only=True)
    token = fields.String(
        dump_only=True, metadata={"description": "The device's bearer token, shown once"}
    )


class ReasonOnlySchema(IntakeSchema):
    reason = Text(required=True, validate=length(500, 1))


class BlockSchema(IntakeSchema):
    """A block of receipt numbers and how its numbers are accounted for."""

    id = Id(dump_only=True)
    device_id = Id(dump_only=True)
    first_seq = fields.Integer(dump_only=True)
    last_seq = fields.Integer(dump_only=True)
    first_number = fields.String(dump_only=True)
    last_number = fields.String(dump_only=True)
    used = fields.Integer(dump_only=True)
    returned = fields.Integer(dump_only=True)
    voided = fields.Integer(dump_only=True)
    held = fields.Integer(dump_only=True, metadata={"description": "Still unused on the device"})
    created_at = fields.DateTime(dump_only=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)


class BlockRequestSchema(IntakeSchema):
    size = whole(1, receipt_blocks.MAX_HELD, load_default=receipt_blocks.BLOCK_SIZE)


class ReturnSchema(IntakeSchema):
    """Give back the block's numbers never printed, from `from_seq` on."""

    from_seq = whole(1, MAX_SEQ + 1, required=True)
    reason = Text(required=True, validate=length(500, 1))


class VoidNumberSchema(IntakeSchema):
    """Void one of the device's numbers: a printed receipt whose delivery was discarded."""

    receipt_seq = whole(1, MAX_SEQ, required=True)
    reason = Text(required=True, validate=length(500, 1))


class TakeOverSchema(IntakeSchema):
    """Take over what a device of the same centre that no longer works still holds."""

    device_id = fields.UUID(
        required=True,
        metadata={"description": "The device that no longer works, enrolled at this centre"},
    )


class UnusedSchema(IntakeSchema):
    receipt_number = fields.String(dump_only=True)
    seq = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"description": "returned or voided"})
    reason = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    reclaimed_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Set when a manager voided the number and the device then synced "
            "a delivery printed under it: the number is on that delivery now"
        },
    )


class CountSchema(IntakeSchema):
    count = fields.Integer(dump_only=True)


class DeviceStateSchema(IntakeSchema):
    """The calling device: where it works and the numbers it holds."""

    device = fields.Nested(DeviceSchema, dump_only=True)
    cooperative = fields.String(dump_only=True)
    blocks = fields.List(fields.Nested(BlockSchema), dump_only=True)


class RosterArgs(IntakeSchema):
    since = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "The cursor of the last roster: only what changed since"},
    )


class RosterPlot(IntakeSchema):
    id = fields.String()
    name = fields.String()
    crop = fields.String()
    protected = fields.Boolean(
        metadata={"description": "Inside the protected area (an open flag): no claim"}
    )


class RosterFamily(IntakeSchema):
    """A family as a device holds it: no national ID, no phone."""

    id = fields.String()
    code = fields.String(metadata={"description": "Member code"})
    name = fields.String(metadata={"description": "Head of household"})
    community_id = fields.String()
    active = fields.Boolean()
    plots = fields.List(fields.Nested(RosterPlot))
    last = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "Per crop, the plot and form of the latest delivery"},
    )


class RosterPrice(IntakeSchema):
    form = fields.String()
    crop = fields.String()
    day = fields.String(
        metadata={
            "description": "In force from this day until the form's next price: today's "
            "price and those already set for later days"
        }
    )
    price_per_kg = fields.String()
    premium_per_kg = fields.String()


class RosterSchema(IntakeSchema):
    full = fields.Boolean(metadata={"description": "Whole roster (else only what changed)"})
    cursor = fields.String(metadata={"description": "Send as `since` next time"})
    generated_at = fields.String()
    today = fields.String()
    cooperative = fields.Dict()
    centre = fields.Dict()
    communities = fields.Dict(keys=fields.String(), values=fields.String())
    families = fields.List(fields.Nested(RosterFamily))
    prices = fields.List(fields.Nested(RosterPrice))


class SyncedDeliverySchema(DeliverySchema):
    """A delivery recorded offline, sent with the receipt number printed on its paper."""

    receipt_seq = whole(1, MAX_SEQ, required=True)
    # Required: a delivery synced hours or days after its weighing keeps its own day (and
    # with it the day's price and season), never the day it reached the server.
    delivered_on = LocalDate(required=True)


class DayPriceSchema(IntakeSchema):
    id = Id(dump_only=True)
    centre = Text(required=True, validate=length(10))
    form = form_field(required=True)
    crop = fields.String(dump_only=True)
    day = LocalDate(load_default=None, allow_none=True)
    price_per_kg = Money(attribute="price_per_kg_minor", required=True, maximum=Decimal(100_000))
    premium_per_kg = Money(
        attribute="premium_per_kg_minor", load_default=0, maximum=Decimal(100_000)
    )
    created_at = fields.DateTime(dump_only=True)


class SetPriceSchema(IntakeSchema):
    """The price of a delivery weighed with its price to be defined: per kg, or per
    quintal for coffee sold by the quintal (the service requires one of the two)."""

    price_per_kg = Money(
        attribute="price_per_kg_minor", load_default=None, allow_none=True, maximum=Decimal(100_000)
    )
    price_per_quintal = Money(
        attribute="price_per_quintal_minor",
        load_default=None,
        allow_none=True,
        maximum=Decimal(10_000_000),
    )
    premium_per_kg = Money(
        attribute="premium_per_kg_minor",
        load_default=None,
        allow_none=True,
        maximum=Decimal(100_000),
    )
