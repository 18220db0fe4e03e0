"""Payments to families (advances, final payments, premiums), balances and premium rules."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import gettext as _

from .. import guard
from ..db import get_session
from ..documents import receipts
from ..models import Family, Payment
from ..schemas.lot import VoidSchema
from ..schemas.payment import (
    BalanceSchema,
    PaymentCreateSchema,
    PaymentSchema,
    PremiumRuleCreateSchema,
    PremiumRuleSchema,
    SeasonFilterSchema,
)
from ..services import access, payments, premiums, receipt_facts, settlements
from ..services.access import Permission
from ..services.cooperatives import season_of
from ..services.errors import ValidationFailed
from ._common import QueryPage, resource_blueprint, user_id, void_record

blp = resource_blueprint(
    "payments", __name__, "Payments to families, their balances, and the season's premium rules"
)


def present(payment: Payment) -> dict[str, Any]:
    """A payment with its receipt code and the deliveries it settles."""
    rows = settlements.allocations_of(get_session(), payment)
    shown = payment.model_dump()
    shown.update(
        receipt=payments.receipt_code(payment),
        allocations=[
            {
                "delivery_id": d.id,
                "receipt_number": d.receipt_number,
                "delivered_on": d.delivered_on,
                "net_g": d.net_g,
                "amount_minor": a.amount_minor,
                "delivery_voided": d.voided_at is not None,
                "corrected_as": corrected_as,
            }
            for a, d, corrected_as in rows
        ],
        allocated_minor=settlements.settled_minor(payment, rows),
        voided=payment.voided_at is not None,
    )
    return shown


class PaymentPage(QueryPage):
    @property
    def items(self) -> list[Any]:
        return [present(p) for p in super().items]


def _season(coop_or_family: Any, value: str | None) -> int:

    session = get_session()
    coop = access.cooperative_of(session, coop_or_family)
    if value in (None, ""):
        return season_of(coop, payments.today())
    return payments.check_season(coop, value)


@blp.route("/families/<family_id>/payments")
class FamilyPayments(MethodView):
    @blp.listing(PaymentSchema(many=True), PaymentPage, query=SeasonFilterSchema)
    def get(self, query: dict[str, Any], family_id: str) -> Any:
        """The family's payments, newest first (`?season=` for one season; voided ones too)."""
        family = guard.record("family_id")
        season = query.get("season")
        return payments.family_payments_query(
            family, _season(family, season) if season not in (None, "") else None
        )

    @blp.write(PaymentCreateSchema, 201, PaymentSchema)
    def post(self, data: dict[str, Any], family_id: str) -> dict[str, Any]:
        """Record a payment. `allocations` [{delivery_id, amount}] says which deliveries it
        settles; left out, it settles the oldest outstanding deliveries of the season first
        (the rest stays as credit); `[]` allocates nothing. `season` defaults to the season
        of `paid_on`."""
        family = guard.record("family_id", Permission.MANAGE)
        allocations = data["allocations"]
        payment = payments.record_payment(
            get_session(),
            family=family,
            data=payments.PaymentData(
                kind=data["kind"],
                method=data["method"],
                paid_on=data["paid_on"],
                amount_minor=data["amount"],
                season=data["season"],
                reference=data["reference"],
                note=data["note"],
                allocations=None
                if allocations is None
                else [payments.AllocationData(a["delivery_id"], a["amount"]) for a in allocations],
            ),
            user_id=user_id(),
        )
        return present(payment)


@blp.route("/families/<family_id>/balance")
class FamilyBalance(MethodView):
    @blp.arguments(SeasonFilterSchema, location="query")
    @blp.response(200, BalanceSchema)
    def get(self, query: dict[str, Any], family_id: str) -> payments.Balance:
        """What the family earned in the season (deliveries and premiums), was paid, and is owed."""
        family: Family = guard.record("family_id")
        return payments.balance(get_session(), family, _season(family, query.get("season")))


@blp.route("/payments/<payment_id>")
class PaymentItem(MethodView):
    @blp.response(200, PaymentSchema)
    def get(self, payment_id: str) -> dict[str, Any]:
        """One payment with the deliveries it settles."""
        return present(guard.record("payment_id"))


@blp.route("/payments/<payment_id>/void")
class VoidPayment(MethodView):
    @blp.write(VoidSchema, 200, PaymentSchema)
    def post(self, data: dict[str, Any], payment_id: str) -> dict[str, Any]:
        """Void a payment recorded by mistake (with a reason); it stays on file."""
        return present(void_record("payment_id", payments.void_payment, data))


@blp.route("/payments/<payment_id>/receipt.pdf")
class PaymentReceipt(MethodView):
    @blp.response(200, content_type="application/pdf")
    def get(self, payment_id: str) -> Response:
        """The printable receipt (A5, PDF/A)."""
        payment = guard.record("payment_id")
        response = Response(
            receipts.receipt_pdf(receipt_facts.of(get_session(), payment)),
            mimetype="application/pdf",
        )
        response.headers["Content-Disposition"] = (
            f'inline; filename="{receipts.receipt_filename(payment)}"'
        )
        return response


@blp.route("/cooperatives/<code>/premium-rules")
class PremiumRules(MethodView):
    @blp.arguments(SeasonFilterSchema, location="query")
    @blp.response(200, PremiumRuleSchema(many=True))
    def get(self, query: dict[str, Any], code: str) -> list[Any]:
        """The season's premium rules (`?season=`, the current one by default), voided ones
        too (`voided`), each with its crop, claim, `forms`, `unit` and `rate` per unit."""
        coop = guard.record("code")
        season = _season(coop, query.get("season"))
        return premiums.rules_for(get_session(), coop, season, voided=True)

    @blp.write(PremiumRuleCreateSchema, 201, PremiumRuleSchema)
    def post(self, data: dict[str, Any], code: str) -> Any:
        """Add a premium for a season: `rate` in the cooperative's currency per `unit`
        (`lb_green`: per pound of green coffee; `t_dry_beans`: per tonne of dry cacao
        beans; `kg_green`, `kg_dry_parchment`...; `kg_delivered`: per kg as weighed), on
        the deliveries of `forms` (every form of `crop` when left out) that carry
        `claim_type` (e.g. fairtrade), come from woman-led families (`woman_led_only`), or
        both. Each delivery earns it on its equivalent in the unit's form, through the
        cooperative's conversion factors. `per_kg` alone is a rate per kg as weighed."""
        coop = guard.record("code", Permission.MANAGE)
        rate, unit, field = data["rate"], data["unit"], "rate"
        if rate is None and data["per_kg"] is not None:
            rate, unit, field = data["per_kg"], unit or premiums.DELIVERED, "per_kg"
        if rate is None:
            raise ValidationFailed({"rate": [_("Give the premium per unit, e.g. 0.75.")]})
        try:
            return premiums.add_premium_rule(
                get_session(),
                coop=coop,
                name=data["name"],
                season=data["season"],
                rate_minor=rate,
                unit=unit or "",
                forms=data["forms"],
                claim_type=data["claim_type"],
                woman_led_only=data["woman_led_only"],
                crop=data["crop"],
                note=data["note"],
                user_id=user_id(),
            )
        except ValidationFailed as error:
            found = error.errors()
            if field != "rate" and "rate" in found:  # name the field the caller sent
                found[field] = found.pop("rate")
            raise ValidationFailed(found) from None


@blp.route("/premium-rules/<rule_id>/void")
class VoidPremiumRule(MethodView):
    @blp.write(VoidSchema, 200, PremiumRuleSchema)
    def post(self, data: dict[str, Any], rule_id: str) -> Any:
        """Void a premium rule (with a reason): deliveries not yet paid stop earning it;
        premiums payments already fixed stay."""
        return void_record("rule_id", premiums.void_premium_rule, data)
