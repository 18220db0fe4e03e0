"""The season report as the API gives it: kilograms as numbers, money as decimal strings.

These schemas read the service's dataclasses (services/reports.py) directly, so the JSON,
the dashboard and the PDF are three views of one computation.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from ..services import conversions
from .certificate import StatusChangeSchema
from .common import ByProduct, Id, Kilograms, Money


def rounded(name: str, places: int) -> fields.Function:
    """A figure the report may not have (a share of none, quintales of a form not sold
    by the quintal), rounded for reading."""
    return fields.Function(
        lambda obj: None if (value := getattr(obj, name)) is None else round(value, places),
        allow_none=True,
    )


def in_measures(attribute: str) -> fields.Dict:
    """A figure's kilograms in each crop's measure (`measures`): crop to kg."""
    return fields.Dict(keys=fields.String(), values=Kilograms(), attribute=attribute)


class MeasureSchema(Schema):
    """How the report counts one crop's kilos together (kilos of different products are
    never added as weighed): as kg of `form` as weighed, or, when `converted`, as kg of
    `form` (the crop's reference form) equivalent through the cooperative's conversion
    factors; `kg` is the season's in that measure. The `equivalent_kg` figures are in
    these measures, one per crop."""

    crop = fields.String()
    form = fields.String()
    converted = fields.Boolean()
    kg = Kilograms(attribute="grams")


class Measures(fields.List):
    """The report's measures (`SeasonReport.measures`), each with the season's kilos."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(MeasureSchema), **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        rows = [
            {
                "crop": m.crop,
                "form": m.form,
                "converted": m.converted,
                "grams": obj.totals.equivalent.get(m.crop, 0),
            }
            for m in value or []
        ]
        return super()._serialize(rows, attr, obj, **kwargs)


class SeasonQuerySchema(Schema):
    """`?season=YYYY` (the current season when left out); checked by the service."""

    season = fields.String(load_default=None)


class VolumeSchema(Schema):
    """`net_kg` adds the kilos of every product as weighed (as the API always gave it):
    with several products, read them by product (`by_form`, a slice's `by_product`) or
    in each crop's measure (`measures`, a slice's `equivalent_kg`)."""

    deliveries = fields.Integer()
    families = fields.Integer()
    net_kg = Kilograms(attribute="net_g")
    value = Money(attribute="value_minor")


class SliceSchema(VolumeSchema):
    """A slice of the season (a community, a claim, the unclaimed kilos), with its kilos
    by product and in each crop's measure."""

    by_product = ByProduct(attribute="products")
    equivalent_kg = in_measures("equivalent")


class CommunityVolumeSchema(SliceSchema):
    community_id = fields.String(attribute="key")
    name = fields.String(attribute="label")


class FormVolumeSchema(VolumeSchema):
    crop = fields.Function(lambda v: v.key.split("/")[0])
    form = fields.String(attribute="label")
    price_per_kg = Money(attribute="price_per_kg_minor", allow_none=True)
    quintales = rounded("quintales", 3)
    price_per_quintal = Money(attribute="price_per_quintal_minor", allow_none=True)


class ClaimVolumeSchema(SliceSchema):
    claim = fields.String(attribute="key")


class WeekSchema(Schema):
    week_start = fields.Date(attribute="start")
    deliveries = fields.Integer()
    net_kg = Kilograms(attribute="net_g")
    by_product = ByProduct(attribute="products")
    equivalent_kg = in_measures("equivalent")


class RuleSchema(Schema):
    rule_id = Id()
    name = fields.String()
    claim_type = fields.String(allow_none=True)
    woman_led_only = fields.Boolean()
    crop = fields.String(allow_none=True)
    forms = fields.List(fields.String())
    unit = fields.String()
    rate = Money(attribute="rate_minor")
    note = fields.String()
    voided = fields.Boolean()
    delivered_kg = Kilograms(attribute="delivered_g")  # every product as weighed
    delivered_by_product = ByProduct(attribute="products")
    equivalent_kg = Kilograms(attribute="grams")
    amount = Money(attribute="amount_minor")
    fixed = Money(attribute="fixed_minor")
    families = fields.Integer()


class PaymentsPaidSchema(Schema):
    advance = Money()
    final = Money()
    premium = Money()


class PricesSchema(Schema):
    net_kg = Kilograms(attribute="net_g")
    value = Money(attribute="value_minor")
    # Of net_kg, the kilos weighed before their price was set: in no average price.
    pending_price_kg = Kilograms(attribute="pending_g")
    price_per_kg = Money(attribute="price_per_kg_minor", allow_none=True)
    scale_premiums = Money(attribute="scale_premium_minor")
    scale_premium_per_kg = Money(attribute="scale_premium_per_kg_minor", allow_none=True)
    rule_premiums = fields.List(fields.Nested(RuleSchema), attribute="rules")
    premiums = Money(attribute="premiums_minor")
    earned = Money(attribute="earned_minor")
    paid_by_kind = fields.Nested(PaymentsPaidSchema)
    paid = Money(attribute="paid_minor")
    payments = fields.Integer()
    families_paid = fields.Integer()
    # The sum of what each family is still owed; advances to others do not offset it.
    outstanding = Money(attribute="outstanding_minor")
    paid_ahead = Money(attribute="ahead_minor")
    median_family_earned = Money(attribute="median_family_earned_minor", allow_none=True)
    median_family_price_per_kg = Money(
        attribute="median_family_price_per_kg_minor", allow_none=True
    )
    median_family_paid = Money(attribute="median_family_paid_minor", allow_none=True)


class WomenSchema(Schema):
    """`volume_share` is the woman-led share of the volume in the crop's measure (of the
    kilos as weighed for a season of one product); null across two crops, whose shares
    are in `volume_shares` (crop to share)."""

    members = fields.Integer()
    woman_led_members = fields.Integer()
    member_share = rounded("member_share", 4)
    delivering_families = fields.Integer(attribute="delivering")
    woman_led_delivering_families = fields.Integer(attribute="woman_led_delivering")
    net_kg = Kilograms(attribute="net_g")
    woman_led_net_kg = Kilograms(attribute="woman_led_net_g")
    volume_share = rounded("volume_share", 4)
    by_product = ByProduct(attribute="products")
    woman_led_by_product = ByProduct(attribute="woman_led_products")
    equivalent_kg = in_measures("equivalent")
    woman_led_equivalent_kg = in_measures("woman_led_equivalent")
    volume_shares = fields.Function(
        lambda w: {
            crop: None if value is None else round(value, 4)
            for crop, value in w.volume_shares.items()
        }
    )


class CertificateLineSchema(Schema):
    id = Id()
    type = fields.String()
    standard = fields.String()
    body = fields.String()
    number = fields.String()
    crops = fields.Function(lambda c: [x for x in c.crops.split(",") if x])
    basis = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    status = fields.String()
    status_changes = fields.List(fields.Nested(StatusChangeSchema), attribute="changes")
    certified_families = fields.Integer()
    in_conversion_families = fields.Integer()
    excluded_families = fields.Integer()
    claimed_kg = Kilograms(attribute="claimed_g")
    claimed_deliveries = fields.Integer()
    claimed_by_product = ByProduct(attribute="claimed_products")
    claimed_equivalent_kg = in_measures("claimed_equivalent")


class LedgerSchema(Schema):
    """A certificate's mass-balance ledger for one crop (`crop`; a certificate covering
    both crops has one line each), in kg of the crop's ledger unit (`unit`)."""

    certificate_id = Id()
    certificate_number = fields.String(attribute="label")
    crop = fields.String()
    reference_form = fields.String(attribute="ledger_form")
    unit = fields.Function(lambda line: conversions.ledger_unit(line.crop))
    credit_kg = Kilograms(attribute="credit_g")
    debit_kg = Kilograms(attribute="debit_g")
    debits = fields.Integer()
    balance_kg = Kilograms(attribute="balance_g")


class OverCapSchema(Schema):
    """A family over its volume cap for one claim and crop, in kg of the crop's
    `reference_form` as the claims engine counts them: `cap_kg` (its plots of the crop
    outside the protected area), `claimed_kg` within it, `flagged_kg` over it (these
    `deliveries` lost the claim), `delivered_kg` the two together."""

    family_id = Id()
    member_code = fields.String()
    head_name = fields.String()
    community = fields.String()
    claim_type = fields.String()
    crop = fields.String()
    reference_form = fields.String()
    deliveries = fields.Integer()
    cap_kg = Kilograms(attribute="cap_g")
    claimed_kg = Kilograms(attribute="claimed_g")
    flagged_kg = Kilograms(attribute="flagged_g")
    delivered_kg = Kilograms(attribute="delivered_g")


class ProtectedPlotSchema(Schema):
    plot_id = Id()
    plot_name = fields.String()
    family_id = Id()
    member_code = fields.String()
    head_name = fields.String()
    community = fields.String()
    flagged_since = fields.Date(allow_none=True)
    deliveries = fields.Integer()
    net_kg = Kilograms(attribute="net_g")  # every product as weighed: see by_product
    by_product = ByProduct(attribute="products")


class YieldFlagSchema(Schema):
    operation_id = Id()
    occurred_on = fields.Date()
    process = fields.String()
    lot_code = fields.String()
    crop = fields.String()
    from_form = fields.String()
    to_form = fields.String()
    input_kg = Kilograms(attribute="input_g")
    output_kg = Kilograms(attribute="output_g")
    yield_pct = fields.Function(lambda y: y.yield_permille / 10)
    band_pct = fields.Function(
        lambda y: None if y.band is None else [y.band[0] / 10, y.band[1] / 10], allow_none=True
    )
    confirmed = fields.Boolean()


class FlagsSchema(Schema):
    over_cap = fields.List(fields.Nested(OverCapSchema))
    protected_area = fields.List(fields.Nested(ProtectedPlotSchema), attribute="protected_plots")
    yields = fields.List(fields.Nested(YieldFlagSchema))


class SeasonReportSchema(Schema):
    cooperative = fields.String(attribute="code")
    name = fields.String()
    currency = fields.String()
    season = fields.Integer()
    season_start = fields.Date(attribute="start")
    season_end = fields.Date(attribute="end")
    as_of = fields.Date()
    measures = Measures()
    totals = fields.Nested(VolumeSchema)
    by_community = fields.List(fields.Nested(CommunityVolumeSchema))
    by_form = fields.List(fields.Nested(FormVolumeSchema))
    by_claim = fields.List(fields.Nested(ClaimVolumeSchema))
    unclaimed = fields.Nested(SliceSchema)
    by_week = fields.List(fields.Nested(WeekSchema))
    prices = fields.Nested(PricesSchema)
    women = fields.Nested(WomenSchema)
    certificates = fields.List(fields.Nested(CertificateLineSchema))
    ledger = fields.List(fields.Nested(LedgerSchema))
    flags = fields.Nested(FlagsSchema)
