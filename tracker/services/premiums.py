"""Season premium rules: what a rule is paid on, per which unit, and what it comes to.

A rule names its crop, its claim (or woman-led families), the delivery forms it applies to
and its unit, a measure of one product form: "lb_green" (per pound of green coffee, as
Fairtrade sets the coffee premium), "t_dry_beans" (per tonne of dry cacao beans, as for
cocoa), "kg_green", or "kg_delivered" (per kilogram as weighed, no conversion). A delivery
of one of the rule's forms earns the premium on its equivalent in the unit's form through
the cooperative's conversion factors (services/conversions.py), rounded half up per
delivery, in SQL: every figure is a GROUP BY, whatever the number of deliveries. The rate
is in the cooperative's currency per unit; where it comes from (a US$ figure and the
exchange rate used) is said in the rule's name and note.

When is a premium fixed? A delivery's rule premiums follow today's rules, claims and
conversion factors until a payment first settles the delivery: at that moment each is
written down (`FixedPremium`) and from then on the delivery keeps it, whatever later
happens to the factors, the rule or the claim. Voiding every payment that settled the
delivery unfixes it. A rule added after the payment still applies to the delivery (the
cooperative owes it) until the next payment fixes it too. Rules are never edited: a
mistaken one is voided with a reason (what it had fixed stays paid) and a new one added;
the new one does not pay again a delivery whose premium the voided one had fixed (same
claim, families and crop: it is the same premium, corrected).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, case, cast, exists, func, insert, literal, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import (
    Cooperative,
    Delivery,
    DeliveryClaim,
    Family,
    FixedPremium,
    Payment,
    PaymentAllocation,
    PremiumRule,
    utcnow,
)
from ..models.enums import FORMS_BY_CROP, Crop, Form
from . import audit, conversions, payments
from .errors import Conflict, ValidationFailed
from .text import printable_error, unprintable
from .vocabulary import FORM_LABELS, MEASURE_LABELS


def rules_for(
    session: Session, coop: Cooperative, season: int, *, voided: bool = False
) -> list[PremiumRule]:
    """The season's rules in force (and, with `voided`, the voided ones too)."""
    query = select(PremiumRule).where(
        col(PremiumRule.cooperative_id) == coop.id, col(PremiumRule.season) == season
    )
    if not voided:
        query = query.where(col(PremiumRule.voided_at).is_(None))
    return list(session.exec(query.order_by(col(PremiumRule.created_at), col(PremiumRule.name))))


# -- units: what a rule's rate is per -----------------------------------------------------

DELIVERED = "kg_delivered"
# Grams in each measure a rate can be per (the avoirdupois pound is exactly 453.59237 g).
MEASURE_G: dict[str, Fraction] = {
    "kg": Fraction(1000),
    "lb": Fraction(45_359_237, 100_000),
    "t": Fraction(1_000_000),
}
# The units offered first for each crop (any measure and form of the crop is accepted).
USUAL_UNITS: dict[str, tuple[str, ...]] = {
    Crop.COFFEE: ("lb_green", "kg_green", "kg_dry_parchment", DELIVERED),
    Crop.CACAO: ("t_dry_beans", "kg_dry_beans", DELIVERED),
}


def split_unit(unit: str) -> tuple[str, str | None]:
    """("lb", "green") for "lb_green"; ("kg", None) for kilograms as weighed."""
    if unit == DELIVERED:
        return "kg", None
    measure, _sep, form = (unit or "").partition("_")
    if measure not in MEASURE_G or form not in set(Form):
        raise ValueError(unit)
    return measure, form


def unit_label(unit: str) -> str:
    """The unit as a person reads it: "per lb of green coffee", "per kg as weighed"."""
    try:
        measure, form = split_unit(unit)
    except ValueError:
        return unit
    if form is None:
        return str(_l("per kg as weighed"))
    forms: dict[str, Any] = {str(k): v for k, v in FORM_LABELS.items()}
    return str(_l("per %(measure)s of %(form)s", measure=MEASURE_LABELS[measure], form=forms[form]))


def max_rate_minor(unit: str) -> int:
    """The highest rate per unit: MAX_RATE_MINOR (payments) per kilogram of its form."""
    measure, _form = split_unit(unit)
    return int(payments.MAX_RATE_MINOR * MEASURE_G[measure] / 1000)


def rule_forms(rule: PremiumRule) -> list[str]:
    """The delivery forms a rule applies to (every form of its crop on an old rule)."""
    listed = [f.strip() for f in (rule.forms or "").split(",") if f.strip()]
    if listed:
        return listed
    crops = [Crop(rule.crop)] if rule.crop else list(Crop)
    return [str(f) for crop in crops for f in FORMS_BY_CROP[crop]]


def _check_rule(
    session: Session,
    coop: Cooperative,
    *,
    name: str,
    season: object,
    rate_minor: int,
    unit: str,
    forms: list[str],
    claim_type: str | None,
    woman_led_only: bool,
    crop: str | None,
    note: str,
) -> tuple[dict[str, list[str]], int]:
    """Every problem with a new rule, by field; and its season."""
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 120:
        errors["name"] = [str(_l("Give a name of at most 120 characters."))]
    elif unprintable(name):
        errors["name"] = [printable_error()]
    if len(note) > 500:
        errors["note"] = [str(_l("At most %(n)s characters.", n=500))]
    elif unprintable(note):
        errors["note"] = [printable_error()]
    try:
        season_n = payments.check_season(coop, season)
    except ValidationFailed as error:
        errors.update(error.errors())
        season_n = 0
    if crop is not None and crop not in set(Crop):
        errors["crop"] = [str(_l("Choose coffee or cacao."))]
        crop = None
    try:
        measure, unit_form = split_unit(unit)
    except ValueError:
        errors["unit"] = [
            str(_l("Choose what the premium is paid per, e.g. per lb of green coffee."))
        ]
        measure, unit_form = "kg", None
    if unit_form is not None and "crop" not in errors:
        if crop is None:
            errors["crop"] = [
                str(_l("A premium per %(unit)s is for one crop: choose it.", unit=_of(unit_form)))
            ]
        elif unit_form not in FORMS_BY_CROP[Crop(crop)]:
            errors["unit"] = [str(_l("This product form does not exist for this crop."))]
    allowed = [str(f) for c in ([Crop(crop)] if crop else list(Crop)) for f in FORMS_BY_CROP[c]]
    if not forms or any(f not in allowed for f in forms):
        errors["forms"] = [
            str(
                _l(
                    "Choose the product forms it is paid on, among: %(forms)s.",
                    forms=", ".join(_of(f) for f in allowed),
                )
            )
        ]
    if "unit" not in errors and not 0 < int(rate_minor) <= max_rate_minor(unit):
        errors["rate"] = [
            str(
                _l(
                    "The premium must be more than 0 and at most %(max)s %(unit)s.",
                    max=payments.decimal_text(max_rate_minor(unit)),
                    unit=unit_label(unit),
                )
            )
        ]
    if claim_type is not None and claim_type not in payments.claim_types(session, coop):
        errors["claim_type"] = [
            str(
                _l(
                    "Premiums follow the claims of deliveries: organic, fair trade or another family certificate."
                )
            )
        ]
    if claim_type is None and not woman_led_only:
        errors["claim_type"] = [
            str(_l("Choose the claim the premium is paid on, or woman-led families, or both."))
        ]
    del measure
    return errors, season_n


def _of(form: str) -> str:
    return str({str(k): v for k, v in FORM_LABELS.items()}.get(form, form))


def add_premium_rule(
    session: Session,
    *,
    coop: Cooperative,
    name: str,
    season: object,
    rate_minor: int,
    unit: str,
    forms: Sequence[str] | None = None,
    claim_type: str | None = None,
    woman_led_only: bool = False,
    crop: str | None = None,
    note: str = "",
    user_id: uuid.UUID | None = None,
) -> PremiumRule:
    """A season premium on claimed deliveries and/or woman-led families, per unit of a form.

    `forms` left out means every form of the crop (of both crops without one). Rules are not edited: a wrong one is
    voided (`void_premium_rule`) and a new one added.
    """
    name = (name or "").strip()
    note = (note or "").strip()
    claim_type = (claim_type or "").strip() or None
    crop = (crop or "").strip() or None
    unit = (unit or "").strip()
    chosen = sorted({str(f).strip() for f in (forms or []) if str(f).strip()})
    if not chosen:
        crops = [Crop(crop)] if crop in set(Crop) else ([] if crop else list(Crop))
        chosen = sorted(str(f) for c in crops for f in FORMS_BY_CROP[c])
    errors, season_n = _check_rule(
        session,
        coop,
        name=name,
        season=season,
        rate_minor=rate_minor,
        unit=unit,
        forms=chosen,
        claim_type=claim_type,
        woman_led_only=bool(woman_led_only),
        crop=crop,
        note=note,
    )
    if errors:
        raise ValidationFailed(errors)
    for other in rules_for(session, coop, season_n):
        same = (
            other.claim_type == claim_type
            and other.woman_led_only == bool(woman_led_only)
            and other.crop == crop
        )
        if same and set(rule_forms(other)) & set(chosen):
            raise Conflict(
                _l(
                    "Premium “%(name)s” already applies to these families, claim and forms "
                    "this season: void it first to replace it.",
                    name=other.name,
                ),
                field="claim_type",
            )
    rule = PremiumRule(
        cooperative_id=coop.id,
        name=name,
        season=season_n,
        claim_type=claim_type,
        woman_led_only=bool(woman_led_only),
        crop=crop,
        forms=",".join(chosen),
        unit=unit,
        rate_minor=int(rate_minor),
        note=note,
        created_by_id=user_id,
    )
    session.add(rule)
    session.flush()
    return rule


def void_premium_rule(
    session: Session, *, rule: PremiumRule, reason: str, user_id: uuid.UUID | None
) -> PremiumRule:
    """Take a rule back: deliveries not yet paid stop earning it; fixed premiums stay."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [str(_l("Say why the premium is voided."))]})
    if len(reason) > 500:
        raise ValidationFailed({"reason": [str(_l("At most %(n)s characters.", n=500))]})
    if unprintable(reason):
        raise ValidationFailed({"reason": [printable_error()]})
    locked = session.exec(
        select(PremiumRule).where(col(PremiumRule.id) == rule.id).with_for_update()
    ).one()
    session.refresh(locked)
    if locked.voided_at is not None:
        raise Conflict(_l("This premium is already voided."))
    locked.voided_at = utcnow()
    locked.voided_by_id = user_id
    locked.void_reason = reason
    session.add(locked)
    session.flush()
    return locked


# -- what a rule comes to ------------------------------------------------------------------


def _rule_filter(rule: PremiumRule):
    """Conditions a delivery meets to earn the rule's premium (besides the season)."""
    conditions: list[Any] = [col(Delivery.form).in_(rule_forms(rule))]
    if rule.crop:
        conditions.append(col(Delivery.crop) == rule.crop)
    if rule.claim_type:
        conditions.append(
            exists().where(
                col(DeliveryClaim.delivery_id) == col(Delivery.id),
                col(DeliveryClaim.claim_type) == rule.claim_type,
            )
        )
    if rule.woman_led_only:
        conditions.append(
            exists().where(
                col(Family.id) == col(Delivery.family_id), col(Family.woman_led).is_(True)
            )
        )
    return and_(*conditions)


def _equivalent(rule: PremiumRule, factors: conversions.Factors):
    """SQL: the delivery's grams in the rule's unit form, rounded half up (as in Python,
    conversions.Factors.convert)."""
    net = cast(col(Delivery.net_g), BigInteger)
    _measure, unit_form = split_unit(rule.unit)
    if unit_form is None:
        return net
    whens: list[Any] = []
    for form in rule_forms(rule):
        if form == unit_form:
            whens.append((col(Delivery.form) == form, net))
        elif conversions.crop_of(form) == conversions.crop_of(unit_form):
            nano = literal(factors.nano(form, unit_form), BigInteger)
            whens.append(
                (
                    col(Delivery.form) == form,
                    (net * nano + conversions.NANO // 2) // conversions.NANO,
                )
            )
    return case(*whens, else_=literal(0, BigInteger)) if whens else literal(0, BigInteger)


def _amount(rule: PremiumRule, equivalent):
    """SQL: the premium on an equivalent in grams, rounded half up (integer division)."""
    measure, _form = split_unit(rule.unit)
    grams = MEASURE_G[measure]  # rate per (p/q) grams: amount = g x rate x q / p
    p, q = grams.numerator, grams.denominator
    scaled = equivalent * literal(rule.rate_minor * q * 2, BigInteger) + literal(p, BigInteger)
    return scaled // literal(2 * p, BigInteger)


def _same_premium(rule: PremiumRule, others: list[PremiumRule]) -> list[uuid.UUID]:
    """The rule and the voided rules it replaces: same season, claim, families and crop."""
    return [
        other.id
        for other in others
        if other.season == rule.season
        and other.claim_type == rule.claim_type
        and other.woman_led_only == rule.woman_led_only
        and other.crop == rule.crop
    ]


def _live_fix(rule_ids: list[uuid.UUID]):
    """SQL: the delivery's premium is fixed under one of these rules."""
    return exists().where(
        col(FixedPremium.delivery_id) == col(Delivery.id),
        col(FixedPremium.rule_id).in_(rule_ids),
        col(FixedPremium.voided_at).is_(None),
    )


@dataclass
class RulePremium:
    """What one premium rule comes to: in total and for each family (equivalent, amount)."""

    rule: PremiumRule
    delivered_g: int = 0
    equivalent_g: int = 0
    amount_minor: int = 0
    deliveries: int = 0
    fixed_minor: int = 0
    by_family: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)

    @property
    def grams(self) -> int:
        return self.equivalent_g

    @property
    def families(self) -> int:
        return len(self.by_family)

    def add(self, family_id: uuid.UUID, count: int, net: int, grams: int, amount: int) -> None:
        held = self.by_family.get(family_id, (0, 0))
        self.by_family[family_id] = (held[0] + grams, held[1] + amount)
        self.deliveries += count
        self.delivered_g += net
        self.equivalent_g += grams
        self.amount_minor += amount


def _premium_query(
    coop: Cooperative,
    season: int,
    rule: PremiumRule,
    every: list[PremiumRule],
    factors: conversions.Factors,
):
    """SQL, per family: the rule's deliveries, their net and equivalent grams, the premium
    (fixed where a payment fixed it, computed today otherwise) and the part fixed. One scan
    of the season's deliveries; a voided rule only counts what it had fixed."""
    fixed = aliased(FixedPremium)
    equivalent = _equivalent(rule, factors)
    held = col(fixed.id).is_not(None)
    counted = (
        held
        if rule.voided_at is not None
        else or_(held, and_(_rule_filter(rule), ~_live_fix(_same_premium(rule, every))))
    )
    return (
        sa_select(
            col(Delivery.family_id),
            func.count(),
            func.sum(col(Delivery.net_g)),
            func.sum(func.coalesce(col(fixed.equivalent_g), equivalent)),
            func.sum(func.coalesce(col(fixed.amount_minor), _amount(rule, equivalent))),
            func.sum(func.coalesce(col(fixed.amount_minor), 0)),
        )
        .select_from(Delivery)
        .outerjoin(
            fixed,
            and_(
                col(fixed.delivery_id) == col(Delivery.id),
                col(fixed.rule_id) == rule.id,
                col(fixed.voided_at).is_(None),
            ),
        )
        .where(payments.season_filter(coop, season), counted)
        .group_by(col(Delivery.family_id))
    )


def rule_premiums(
    session: Session,
    coop: Cooperative,
    season: int,
    family_ids: Sequence[uuid.UUID] | None = None,
) -> list[RulePremium]:
    """Each rule of the season applied to its deliveries, grouped by family.

    A delivery whose premium a payment fixed counts with the fixed amount (FixedPremium);
    the others with today's rules, claims and conversion factors. A voided rule counts only
    what it had fixed, and the rule that replaces it does not pay those deliveries again.
    """
    factors = conversions.load(session, coop.id)
    found = []
    every = rules_for(session, coop, season, voided=True)
    for rule in every:
        result = RulePremium(rule)
        for query in payments.by_families(
            _premium_query(coop, season, rule, every, factors), family_ids
        ):
            for family_id, count, net, grams, amount, fixed in session.execute(query):
                result.add(family_id, int(count), int(net), int(grams), int(amount))
                result.fixed_minor += int(fixed)
        if rule.voided_at is None or result.deliveries:
            found.append(result)
    return found


def _computed(
    session: Session, coop: Cooperative, season: int, delivery_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    """(delivery, rule, equivalent grams, amount) the rules in force give deliveries whose
    premium under the rule (or a voided one it replaces) is not fixed."""
    factors = conversions.load(session, coop.id)
    found = []
    every = rules_for(session, coop, season, voided=True)
    for rule in (r for r in every if r.voided_at is None):
        equivalent = _equivalent(rule, factors)
        for chunk in payments.chunks(list(delivery_ids)):
            query = select(col(Delivery.id), equivalent, _amount(rule, equivalent)).where(
                payments.season_filter(coop, season),
                _rule_filter(rule),
                ~_live_fix(_same_premium(rule, every)),
                col(Delivery.id).in_(chunk),
            )
            for delivery_id, grams, amount in session.execute(query):
                found.append((delivery_id, rule.id, int(grams), int(amount)))
    return found


def delivery_rule_premiums(
    session: Session, coop: Cooperative, season: int, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The rules' premium on each of these deliveries (fixed, or as the rules give today)."""
    found: dict[uuid.UUID, int] = {}
    for delivery_id, _rule_id, _grams, amount in _computed(session, coop, season, delivery_ids):
        found[delivery_id] = found.get(delivery_id, 0) + amount
    for delivery_id, amount in _fixed_amounts(session, coop, season, delivery_ids):
        found[delivery_id] = found.get(delivery_id, 0) + amount
    return found


def _fixed_amounts(
    session: Session, coop: Cooperative, season: int, delivery_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, int]]:
    found: list[tuple[uuid.UUID, int]] = []
    for chunk in payments.chunks(list(delivery_ids)):
        query = (
            select(col(FixedPremium.delivery_id), col(FixedPremium.amount_minor))
            .join(PremiumRule, col(PremiumRule.id) == col(FixedPremium.rule_id))
            .join(Delivery, col(Delivery.id) == col(FixedPremium.delivery_id))
            .where(
                payments.season_filter(coop, season),
                col(PremiumRule.season) == season,
                col(FixedPremium.voided_at).is_(None),
                col(FixedPremium.delivery_id).in_(chunk),
            )
        )
        found.extend((d, int(a)) for d, a in session.execute(query))
    return found


def fix_premiums(
    session: Session,
    *,
    coop: Cooperative,
    season: int,
    delivery_ids: Sequence[uuid.UUID],
    bulk: bool = False,
) -> int:
    """Fix the premiums these deliveries earn today, as a payment settles them.

    From now on each keeps that amount under each rule, whatever happens to the rules,
    claims or conversion factors. Returns how many premiums were fixed. `bulk` writes
    them with one statement, logged row by row in one audit entry (the demo), otherwise each is audited.
    """
    rows = [r for r in _computed(session, coop, season, delivery_ids) if r[3] > 0]
    if not rows:
        return 0
    if bulk:
        now = utcnow()
        values = [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "cooperative_id": coop.id,
                "delivery_id": delivery_id,
                "rule_id": rule_id,
                "equivalent_g": grams,
                "amount_minor": amount,
            }
            for delivery_id, rule_id, grams, amount in rows
        ]
        for at in range(0, len(values), 5000):
            session.execute(insert(FixedPremium), values[at : at + 5000])
        audit.record_rows(
            session,
            model=FixedPremium,
            cooperative_id=coop.id,
            rows=values,
            summary={"fixed": True, "amount_minor": sum(r[3] for r in rows)},
        )
    else:
        for delivery_id, rule_id, grams, amount in rows:
            session.add(
                FixedPremium(
                    cooperative_id=coop.id,
                    delivery_id=delivery_id,
                    rule_id=rule_id,
                    equivalent_g=grams,
                    amount_minor=amount,
                )
            )
    session.flush()
    return len(rows)


def fixed_count(session: Session, coop: Cooperative) -> int:
    """How many premiums payments have fixed (they do not follow a change of factors)."""
    return int(
        session.exec(
            select(func.count()).where(
                col(FixedPremium.cooperative_id) == coop.id,
                col(FixedPremium.voided_at).is_(None),
            )
        ).one()
    )


def unfix(session: Session, payment: Payment, user_id: uuid.UUID | None) -> None:
    """Deliveries this payment settled and no live payment settles any more float again."""
    settled = select(col(PaymentAllocation.delivery_id)).where(
        col(PaymentAllocation.payment_id) == payment.id
    )
    still_paid = (
        select(col(PaymentAllocation.delivery_id))
        .join(Payment, col(Payment.id) == col(PaymentAllocation.payment_id))
        .where(col(Payment.voided_at).is_(None), col(PaymentAllocation.delivery_id).in_(settled))
    )
    loose = session.exec(
        select(FixedPremium).where(
            col(FixedPremium.delivery_id).in_(settled),
            col(FixedPremium.delivery_id).not_in(still_paid),
            col(FixedPremium.voided_at).is_(None),
        )
    ).all()
    reason = str(_l("Payment %(receipt)s was voided.", receipt=payments.receipt_code(payment)))
    for fixed in loose:
        fixed.voided_at = payment.voided_at
        fixed.voided_by_id = user_id
        fixed.void_reason = reason
        session.add(fixed)
    session.flush()


__all__ = [
    "DELIVERED",
    "MEASURE_G",
    "USUAL_UNITS",
    "RulePremium",
    "add_premium_rule",
    "delivery_rule_premiums",
    "fix_premiums",
    "fixed_count",
    "max_rate_minor",
    "rule_forms",
    "rule_premiums",
    "rules_for",
    "split_unit",
    "unfix",
    "unit_label",
    "void_premium_rule",
]
