"""Payments, balances and premium rules as the API takes and gives them.

Money is a decimal string at the edge ("540.00") and integer minor units inside.
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import fields

from ..models.enums import Crop, Form, PaymentKind, PaymentMethod
from ..services import premiums
from .common import ByProduct, Id, Kilograms, Money, StrictSchema
from .lot import InputSchema, length, one_of, text


class SeasonFilterSchema(InputSchema):
    """`?season=YYYY`; checked by the service (a clear message for a bad one)."""

    season = fields.String(load_default=None)


class AllocationInSchema(InputSchema):
    delivery_id = Id(required=True)
    amount = Money(required=True)


class PaymentCreateSchema(InputSchema):
    """A payment; `allocations` left out settles the oldest deliveries first, [] settles none."""

    kind = fields.String(required=True, validate=one_of(PaymentKind))
    method = fields.String(required=True, validate=one_of(PaymentMethod))
    paid_on = fields.Date(required=True)
    amount = Money(required=True)
    season = fields.Integer(load_default=None, allow_none=True)
    reference = fields.String(load_default="", validate=text(100))
    note = fields.String(load_default="", validate=text(500))
    allocations = fields.List(
        fields.Nested(AllocationInSchema),
        load_default=None,
        allow_none=True,
        validate=length(0, 1000),
    )


class AllocationSchema(StrictSchema):
    delivery_id = Id()
    receipt_number = fields.String()
    delivered_on = fields.Date()
    net_kg = Kilograms(attribute="net_g")
    amount = Money(attribute="amount_minor")
    # A voided delivery stays listed; what it settled no longer counts in `allocated`.
    delivery_voided = fields.Boolean()
    corrected_as = fields.String(allow_none=True)


class PaymentSchema(StrictSchema):
    id = Id()
    receipt = fields.String()
    family_id = Id()
    kind = fields.String()
    method = fields.String()
    paid_on = fields.Date()
    season = fields.Integer()
    amount = Money(attribute="amount_minor")
    # What it settles on deliveries that stand; 0 once it is voided.
    allocated = Money(attribute="allocated_minor")
    reference = fields.String()
    note = fields.String()
    allocations = fields.List(fields.Nested(AllocationSchema))
    voided = fields.Boolean()
    void_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class PaidByKindSchema(StrictSchema):
    advance = Money(dump_default=0)
    final = Money(dump_default=0)
    premium = Money(dump_default=0)


class BalanceSchema(StrictSchema):
    """A family's season: earned (deliveries + premiums), paid, and the balance still owed.
    `delivered_by_product` and `pending_by_product` give the kilos of each product
    (`delivered_kg` and `pending_kg` add them as weighed, which means nothing across
    products: 5 kg of cherry make about 1 kg of dry parchment)."""

    family_id = Id()
    season = fields.Integer()
    deliveries = fields.Integer()
    delivered_kg = Kilograms(attribute="delivered_g")
    delivered_by_product = ByProduct()
    # Of delivered_kg, the kilos weighed "price to be defined": in no value or balance yet.
    pending_kg = Kilograms(attribute="pending_g")
    pending_by_product = ByProduct()
    value = Money(attribute="value_minor")
    scale_premiums = Money(attribute="scale_premium_minor")
    rule_premiums = Money(attribute="rule_premium_minor")
    earned = Money(attribute="earned_minor")
    paid_by_kind = fields.Nested(PaidByKindSchema)
    paid = Money(attribute="paid_minor")
    balance = Money(attribute="balance_minor")


class PremiumRuleCreateSchema(InputSchema):
    """A premium rule: `rate` in the cooperative's currency per `unit` ("lb_green",
    "t_dry_beans", "kg_green", "kg_delivered"...) on deliveries of `forms` (all forms of
    the crop when left out). `per_kg` is the older shorthand for a rate per kg as weighed."""

    name = fields.String(required=True, validate=text(120))
    season = fields.Integer(required=True)
    rate = Money(load_default=None, allow_none=True, maximum=Decimal(1_000_000))
    unit = fields.String(load_default=None, allow_none=True, validate=text(20))
    forms = fields.List(
        fields.String(validate=one_of(Form)),
        load_default=None,
        allow_none=True,
        validate=length(0, 10),
    )
    per_kg = Money(load_default=None, allow_none=True, maximum=1000)
    claim_type = fields.String(load_default=None, allow_none=True, validate=text(40))
    woman_led_only = fields.Boolean(load_default=False)
    crop = fields.String(load_default=None, allow_none=True, validate=one_of(Crop))
    note = fields.String(load_default="", validate=text(500))


class PremiumRuleSchema(StrictSchema):
    id = Id()
    name = fields.String()
    season = fields.Integer()
    claim_type = fields.String(allow_none=True)
    woman_led_only = fields.Boolean()
    crop = fields.String(allow_none=True)
    forms = fields.Function(lambda rule: premiums.rule_forms(rule))
    unit = fields.String()
    unit_label = fields.Function(lambda rule: premiums.unit_label(rule.unit))
    rate = Money(attribute="rate_minor")
    note = fields.String()
    voided = fields.Function(lambda rule: rule.voided_at is not None)
    void_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


__all__ = [
    "BalanceSchema",
    "PaymentCreateSchema",
    "PaymentSchema",
    "PremiumRuleCreateSchema",
    "PremiumRuleSchema",
    "SeasonFilterSchema",
]
