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
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, cast, exists, func, literal, or_
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
from . import audit, bulk, conversions, payment_terms
from .premium_rules import (
    DELIVERED,
    MEASURE_G,
    USUAL_UNITS,
    add_premium_rule,
    max_rate_minor,
    rule_forms,
    rules_for,
    same_scope,
    split_unit,
    unit_label,
    void_premium_rule,
)

# -- what a rule comes to ------------------------------------------------------------------


def family_of_delivery() -> Any:
    """The join of a delivery to its family, inside their cooperative. The cooperative's
    equality lets PostgreSQL carry the query's own cooperative over to `family` and read
    that cooperative's families by ix_family_cooperative_id, not every family of the
    database (a federation's 200,000); under Citus it keeps the join on one shard."""
    return and_(
        col(Family.id) == col(Delivery.family_id),
        col(Family.cooperative_id) == col(Delivery.cooperative_id),
    )


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
                col(Family.id) == col(Delivery.family_id),
                col(Family.cooperative_id) == rule.cooperative_id,
                col(Family.woman_led).is_(True),
            )
        )
    return and_(*conditions)


def _equivalent(rule: PremiumRule, factors: conversions.Factors):
    """SQL: the delivery's grams in the rule's unit form, rounded half up on each delivery
    (conversions.sql_convert, as the ledger's credit). Only the rule's own forms reach it
    (`_rule_filter`)."""
    net = cast(col(Delivery.net_g), BigInteger)
    _measure, unit_form = split_unit(rule.unit)
    if unit_form is None:
        return net
    return conversions.sql_convert(factors, net, col(Delivery.form), unit_form)


def _amount(rule: PremiumRule, equivalent):
    """SQL: the premium on an equivalent in grams, rounded half up (integer division)."""
    measure, _form = split_unit(rule.unit)
    grams = MEASURE_G[measure]  # rate per (p/q) grams: amount = g x rate x q / p
    p, q = grams.numerator, grams.denominator
    scaled = equivalent * literal(rule.rate_minor * q * 2, BigInteger) + literal(p, BigInteger)
    return scaled // literal(2 * p, BigInteger)


def _same_premium(rule: PremiumRule, others: list[PremiumRule]) -> list[uuid.UUID]:
    """The rule and the voided rules it replaces: of the same season, paying the same
    premium to some of the same deliveries (`same_scope`: a voided rule of both crops is
    replaced by one of coffee alone, for the coffee it had fixed)."""
    return [rule.id] + [
        other.id
        for other in others
        if other.id != rule.id
        and other.voided_at is not None
        and other.season == rule.season
        and same_scope(other, rule.claim_type, rule.woman_led_only, rule.crop, rule_forms(rule))
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
    # delivered_g by product ("crop/form"): kilos of different products are never added
    # where a person reads them (the season report shows these beside the equivalent).
    products: dict[str, int] = field(default_factory=dict)

    @property
    def grams(self) -> int:
        return self.equivalent_g

    @property
    def families(self) -> int:
        return len(self.by_family)

    def add(
        self, family_id: uuid.UUID, product: str, count: int, net: int, grams: int, amount: int
    ) -> None:
        held = self.by_family.get(family_id, (0, 0))
        self.by_family[family_id] = (held[0] + grams, held[1] + amount)
        self.deliveries += count
        self.delivered_g += net
        self.products[product] = self.products.get(product, 0) + net
        self.equivalent_g += grams
        self.amount_minor += amount


def _premium_query(
    coop: Cooperative,
    season: int,
    rule: PremiumRule,
    every: list[PremiumRule],
    factors: conversions.Factors,
):
    """SQL, per family and product (crop, form): the rule's deliveries, their net and
    equivalent grams, the premium (fixed where a payment fixed it, computed today otherwise)
    and the part fixed. One scan of the season's deliveries; a voided rule only counts what
    it had fixed."""
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
            col(Delivery.crop),
            col(Delivery.form),
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
        .where(payment_terms.season_filter(coop, season), counted)
        .group_by(col(Delivery.family_id), col(Delivery.crop), col(Delivery.form))
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
        for query in payment_terms.by_families(
            _premium_query(coop, season, rule, every, factors), family_ids
        ):
            for family_id, crop, form, count, net, grams, amount, fixed in session.execute(query):
                product = f"{crop}/{form}"
                result.add(family_id, product, int(count), int(net), int(grams), int(amount))
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
        for chunk in bulk.chunks(list(delivery_ids)):
            query = select(col(Delivery.id), equivalent, _amount(rule, equivalent)).where(
                payment_terms.season_filter(coop, season),
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
    for chunk in bulk.chunks(list(delivery_ids)):
        query = (
            select(col(FixedPremium.delivery_id), col(FixedPremium.amount_minor))
            .join(PremiumRule, col(PremiumRule.id) == col(FixedPremium.rule_id))
            .join(Delivery, col(Delivery.id) == col(FixedPremium.delivery_id))
            .where(
                payment_terms.season_filter(coop, season),
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
        audit.insert_rows(
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


def carry_fixed(
    session: Session,
    coop: Cooperative,
    season: int,
    fixed: Sequence[FixedPremium],
    *,
    old: Delivery,
    new: Delivery,
) -> None:
    """The premiums payments fixed on a corrected delivery, fixed on its replacement under
    the same rules (services/settlements.py): the same figures where its kilos, form and
    crop are unchanged, else the rule's rate on its new equivalent; not where the rule no
    longer applies to it (a correction to a plot without the claim, say)."""
    same = (new.net_g, new.form, new.crop) == (old.net_g, old.form, old.crop)
    factors = conversions.load(session, coop.id)
    for row in fixed:
        rule = session.get(PremiumRule, row.rule_id)
        if rule is None or rule.season != season:
            continue
        equivalent = _equivalent(rule, factors)
        found = session.execute(
            sa_select(equivalent, _amount(rule, equivalent)).where(
                col(Delivery.id) == new.id, _rule_filter(rule)
            )
        ).first()
        if found is None:
            continue
        grams, amount = (row.equivalent_g, row.amount_minor) if same else map(int, found)
        session.add(
            FixedPremium(
                cooperative_id=coop.id,
                delivery_id=new.id,
                rule_id=rule.id,
                equivalent_g=grams,
                amount_minor=amount,
            )
        )
    session.flush()


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
    reason = str(_l("Payment %(receipt)s was voided.", receipt=payment_terms.receipt_code(payment)))
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
