"""Payments to families, the premiums they earn, and what the cooperative still owes them.

A family earns, per season, the value of its deliveries fixed at the scale (amount and
premium per kg), plus the season's premium rules (services/premiums.py: per unit of a
product form, on the deliveries that carry the rule's claim or come from woman-led
families). It is paid with advances, final payments and premium payments. A payment may
be allocated to deliveries (what it settles, which also fixes their rule premiums); what
is not allocated stays as credit on the family's balance (an advance paid before the
harvest, say). Nothing is deleted: a mistaken payment is voided with a reason and stops
counting.

Every figure is computed with GROUP BY queries, so the season report can ask for 5,000
families at once. Family balances, the payments pages and the season report all read
premiums.rule_premiums / delivery_rule_premiums, so they agree to the céntimo.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from .. import formatting
from ..models import (
    Cooperative,
    Delivery,
    Family,
    Payment,
    PaymentAllocation,
    SeasonVolume,
)
from ..models.enums import PaymentKind, PaymentMethod
from . import premiums, season_volumes
from .bulk import chunks
from .cooperatives import season_of
from .errors import ValidationFailed
from .payment_terms import (
    MAX_RATE_MINOR,
    by_families,
    check_season,
    claim_types,
    receipt_code,
    season_filter,
    today,
)
from .report_figures import Earnings, per_kg
from .rows import void_locked
from .text import given_reason

MAX_AMOUNT_MINOR = 100_000_000  # one million in the cooperative's currency
MAX_ALLOCATIONS = 1_000
EARLIEST = date(2000, 1, 1)

KIND_LABELS = {
    PaymentKind.ADVANCE: _l("advance"),
    PaymentKind.FINAL: _l("final payment"),
    PaymentKind.PREMIUM: _l("premium"),
}
METHOD_LABELS = {
    PaymentMethod.CASH: _l("cash"),
    PaymentMethod.BANK_TRANSFER: _l("bank transfer"),
    PaymentMethod.MOBILE: _l("mobile money"),
    PaymentMethod.CHEQUE: _l("cheque"),
}


# -- balances ----------------------------------------------------------------------------


@dataclass
class Balance(Earnings):
    """A family's season: what it earned, what it was paid, what is still owed."""

    family_id: uuid.UUID
    season: int
    deliveries: int = 0
    delivered_g: int = 0
    value_minor: int = 0
    pending_g: int = 0  # of delivered_g, weighed before their price was set
    scale_premium_minor: int = 0
    rule_premium_minor: int = 0
    paid_by_kind: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    # delivered_g and pending_g by product ("crop/form"): kilos of different products are
    # never added, so the pages show these when the family delivered several.
    delivered_by_product: dict[str, int] = field(default_factory=dict)
    pending_by_product: dict[str, int] = field(default_factory=dict)

    @property
    def one_product(self) -> bool:
        return len(self.delivered_by_product) <= 1

    @property
    def products(self) -> list[tuple[str, int]]:
        """(product key, grams) delivered, the largest first."""
        return _largest_first(self.delivered_by_product)

    @property
    def pending_products(self) -> list[tuple[str, int]]:
        """(product key, grams) still awaiting their price, the largest first."""
        return _largest_first(self.pending_by_product)

    @property
    def balance_minor(self) -> int:
        """Positive: the cooperative owes the family; negative: paid ahead (an advance)."""
        return self.earned_minor - self.paid_minor

    @property
    def price_per_kg_minor(self) -> int | None:
        """The average price of the kilos priced so far (those awaiting a price have no
        value yet: counting them would read as paid at 0); None when the family delivered
        several products, whose kilos are never added."""
        if not self.one_product:
            return None
        return per_kg(self.value_minor, self.delivered_g - self.pending_g)


def _largest_first(grams: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(((k, g) for k, g in grams.items() if g), key=lambda kg: (-kg[1], kg[0]))


def family_balances(
    session: Session,
    coop: Cooperative,
    season: int,
    family_ids: Sequence[uuid.UUID] | None = None,
    rules: list[premiums.RulePremium] | None = None,
) -> dict[uuid.UUID, Balance]:
    """Balances of every family that delivered or was paid in the season (or of these)."""
    balances: dict[uuid.UUID, Balance] = {}

    def get(family_id: uuid.UUID) -> Balance:
        if family_id not in balances:
            balances[family_id] = Balance(family_id, season)
        return balances[family_id]

    if family_ids is not None:
        for family_id in family_ids:
            get(family_id)
    # The season's per-family sums (season_volumes), one row per crop and form.
    delivered = (
        sa_select(
            col(SeasonVolume.family_id),
            col(SeasonVolume.key),
            season_volumes.total(col(SeasonVolume.deliveries)),
            season_volumes.total(col(SeasonVolume.net_g)),
            season_volumes.total(col(SeasonVolume.amount_minor)),
            season_volumes.total(col(SeasonVolume.premium_minor)),
        )
        .where(season_volumes.season_rows(coop, season, season_volumes.FORM))
        .group_by(col(SeasonVolume.family_id), col(SeasonVolume.key))
    )
    for query in _of_families(delivered, col(SeasonVolume.family_id), family_ids):
        for family_id, key, count, grams, value, premium in session.execute(query):
            row = get(family_id)
            row.deliveries += int(count)
            row.delivered_g += int(grams)
            row.delivered_by_product[key] = int(grams)
            row.value_minor += int(value)
            row.scale_premium_minor += int(premium)
    waiting = season_volumes.pending_by(
        coop, season, col(SeasonVolume.family_id), col(SeasonVolume.key)
    )
    for query in _of_families(waiting, col(SeasonVolume.family_id), family_ids):
        for family_id, key, grams in session.execute(query):
            row = get(family_id)
            row.pending_g += int(grams)
            row.pending_by_product[key] = int(grams)
    for result in (
        rules if rules is not None else premiums.rule_premiums(session, coop, season, family_ids)
    ):
        for family_id, (_grams, amount) in result.by_family.items():
            if family_ids is None or family_id in balances:
                get(family_id).rule_premium_minor += amount
    paid = (
        select(
            col(Payment.family_id),
            col(Payment.kind),
            func.count(),
            func.sum(col(Payment.amount_minor)),
        )
        .where(
            col(Payment.cooperative_id) == coop.id,
            col(Payment.season) == season,
            col(Payment.voided_at).is_(None),
        )
        .group_by(col(Payment.family_id), col(Payment.kind))
    )
    for chunk_query in _of_families(paid, col(Payment.family_id), family_ids):
        for family_id, kind, count, amount in session.execute(chunk_query):
            row = get(family_id)
            row.paid_by_kind[kind] = row.paid_by_kind.get(kind, 0) + int(amount)
            row.payments += int(count)
    return balances


def _of_families(query, column, family_ids: Sequence[uuid.UUID] | None):
    """The query, or one per chunk of these families' ids."""
    if family_ids is None:
        yield query
        return
    for chunk in chunks(list(family_ids)):
        yield query.where(column.in_(chunk))


def balance(session: Session, family: Family, season: int) -> Balance:
    coop = session.get(Cooperative, family.cooperative_id)
    assert coop is not None
    return family_balances(session, coop, season, [family.id])[family.id]


@dataclass
class DeliveryLine:
    """One delivery of the family's season, with what it earned and what settles it."""

    delivery: Delivery
    rule_premium_minor: int
    allocated_minor: int

    @property
    def earned_minor(self) -> int:
        return self.delivery.amount_minor + self.delivery.premium_minor + self.rule_premium_minor

    @property
    def outstanding_minor(self) -> int:
        return max(0, self.earned_minor - self.allocated_minor)


def delivery_lines(session: Session, family: Family, season: int) -> list[DeliveryLine]:
    """The family's deliveries in the season, oldest first, with their outstanding amounts."""
    coop = session.get(Cooperative, family.cooperative_id)
    assert coop is not None
    found = list(
        session.exec(
            select(Delivery)
            .where(season_filter(coop, season), col(Delivery.family_id) == family.id)
            .order_by(col(Delivery.delivered_on), col(Delivery.receipt_number))
        ).all()
    )
    ids = [d.id for d in found]
    rule_premium = premiums.delivery_rule_premiums(session, coop, season, ids)
    allocated: dict[uuid.UUID, int] = {}
    for chunk in chunks(ids):
        for delivery_id, amount in session.execute(
            sa_select(
                col(PaymentAllocation.delivery_id), func.sum(col(PaymentAllocation.amount_minor))
            )
            .join(Payment, col(Payment.id) == col(PaymentAllocation.payment_id))
            .where(
                col(PaymentAllocation.delivery_id).in_(chunk),
                col(Payment.voided_at).is_(None),
            )
            .group_by(col(PaymentAllocation.delivery_id))
        ):
            allocated[delivery_id] = int(amount)
    return [DeliveryLine(d, rule_premium.get(d.id, 0), allocated.get(d.id, 0)) for d in found]


# -- recording and voiding -------------------------------------------------------------------


@dataclass
class AllocationData:
    delivery_id: uuid.UUID
    amount_minor: int


@dataclass
class PaymentData:
    """What a manager enters; allocations None means: settle the oldest deliveries first."""

    kind: str
    method: str
    paid_on: date
    amount_minor: int
    season: int | None = None
    reference: str = ""
    note: str = ""
    allocations: list[AllocationData] | None = None


def _check(coop: Cooperative, data: PaymentData) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.kind not in set(PaymentKind):
        errors["kind"] = [str(_l("Choose an advance, a final payment or a premium."))]
    if data.method not in set(PaymentMethod):
        errors["method"] = [str(_l("Choose cash, bank transfer, mobile money or cheque."))]
    if not 0 < data.amount_minor <= MAX_AMOUNT_MINOR:
        errors["amount"] = [
            str(
                _l(
                    "The amount must be more than 0 and at most %(max)s.",
                    max=formatting.count(MAX_AMOUNT_MINOR // 100),
                )
            )
        ]
    if data.paid_on > today():
        errors["paid_on"] = [str(_l("The date cannot be in the future."))]
    elif data.paid_on < EARLIEST:
        errors["paid_on"] = [str(_l("The date is too far in the past."))]
    if len(data.reference or "") > 100:
        errors["reference"] = [str(_l("At most %(n)s characters.", n=100))]
    if len(data.note or "") > 500:
        errors["note"] = [str(_l("At most %(n)s characters.", n=500))]
    if data.season is not None:
        try:
            check_season(coop, data.season)
        except ValidationFailed as error:
            errors.update(error.errors())
    if data.allocations is not None and len(data.allocations) > MAX_ALLOCATIONS:
        errors["allocations"] = [
            str(_l("At most %(n)s deliveries per payment.", n=MAX_ALLOCATIONS))
        ]
    return errors


def _allocate(lines: list[DeliveryLine], data: PaymentData) -> list[tuple[DeliveryLine, int]]:
    """The allocations to store: the given ones checked, or the oldest outstanding first."""
    by_id = {line.delivery.id: line for line in lines}
    if data.allocations is None:
        left, chosen = data.amount_minor, []
        for line in lines:
            if left <= 0:
                break
            take = min(left, line.outstanding_minor)
            if take > 0:
                chosen.append((line, take))
                left -= take
        return chosen
    problems: list[str] = []
    chosen, seen = [], set()
    for item in data.allocations:
        found = by_id.get(item.delivery_id)
        if found is None:
            problems.append(
                str(
                    _l(
                        "Delivery %(id)s is not one of the family's deliveries of this season.",
                        id=str(item.delivery_id),
                    )
                )
            )
            continue
        line = found
        receipt = line.delivery.receipt_number
        if item.delivery_id in seen:
            problems.append(str(_l("Delivery %(receipt)s is listed twice.", receipt=receipt)))
            continue
        seen.add(item.delivery_id)
        if item.amount_minor <= 0:
            problems.append(
                str(_l("The amount for delivery %(receipt)s must be more than 0.", receipt=receipt))
            )
        elif item.amount_minor > line.outstanding_minor:
            problems.append(
                str(
                    _l(
                        "Delivery %(receipt)s has %(left)s left to pay; you allocated %(amount)s.",
                        receipt=receipt,
                        left=formatting.decimal_money(line.outstanding_minor),
                        amount=formatting.decimal_money(item.amount_minor),
                    )
                )
            )
        else:
            chosen.append((line, item.amount_minor))
    if not problems and sum(a for _line, a in chosen) > data.amount_minor:
        problems.append(str(_l("The allocations add up to more than the payment.")))
    if problems:
        raise ValidationFailed({"allocations": problems})
    return chosen


def record_payment(
    session: Session, *, family: Family, data: PaymentData, user_id: uuid.UUID | None
) -> Payment:
    """Store a payment and what it settles; one action, all or nothing."""
    coop = session.get(Cooperative, family.cooperative_id)
    assert coop is not None
    errors = _check(coop, data)
    if errors:
        raise ValidationFailed(errors)
    # Payments of one family queue here, so two cannot both settle the same delivery.
    session.exec(select(col(Family.id)).where(col(Family.id) == family.id).with_for_update()).one()
    season = data.season if data.season is not None else season_of(coop, data.paid_on)
    lines = delivery_lines(session, family, season)
    allocations = _allocate(lines, data)
    payment = Payment(
        cooperative_id=coop.id,
        family_id=family.id,
        kind=data.kind,
        method=data.method,
        paid_on=data.paid_on,
        season=season,
        amount_minor=data.amount_minor,
        reference=(data.reference or "").strip(),
        note=(data.note or "").strip(),
        created_by_id=user_id,
    )
    session.add(payment)
    session.flush()
    for line, amount in allocations:
        session.add(
            PaymentAllocation(
                cooperative_id=coop.id,
                payment_id=payment.id,
                delivery_id=line.delivery.id,
                amount_minor=amount,
            )
        )
    session.flush()
    premiums.fix_premiums(
        session,
        coop=coop,
        season=season,
        delivery_ids=[line.delivery.id for line, _a in allocations],
    )
    return payment


def void_payment(
    session: Session, *, payment: Payment, reason: str, user_id: uuid.UUID | None
) -> Payment:
    """Void a payment recorded by mistake: it stays on file and stops counting."""
    reason = given_reason(reason, _l("Say why the payment is voided."))
    locked = void_locked(
        session,
        Payment,
        payment.id,
        reason=reason,
        user_id=user_id,
        voided=_l("This payment is already voided."),
    )
    premiums.unfix(session, locked, user_id)
    return locked


def payments_of(session: Session, family: Family, season: int | None = None) -> list[Payment]:
    query = select(Payment).where(col(Payment.family_id) == family.id)
    if season is not None:
        query = query.where(col(Payment.season) == season)
    return list(
        session.exec(
            query.order_by(col(Payment.paid_on).desc(), col(Payment.created_at).desc())
        ).all()
    )


def seasons_of(session: Session, coop: Cooperative) -> list[int]:
    """Seasons with deliveries or payments, newest first (always including the current one)."""
    found = {season_of(coop, today())}
    first, last = session.execute(
        sa_select(func.min(col(Delivery.delivered_on)), func.max(col(Delivery.delivered_on))).where(
            col(Delivery.cooperative_id) == coop.id
        )
    ).one()
    if first is not None:
        found.update(range(season_of(coop, first), season_of(coop, last) + 1))
    found.update(
        session.exec(
            select(col(Payment.season)).where(col(Payment.cooperative_id) == coop.id).distinct()
        ).all()
    )
    return sorted(found, reverse=True)


__all__ = [
    "MAX_RATE_MINOR",
    "AllocationData",
    "Balance",
    "DeliveryLine",
    "PaymentData",
    "balance",
    "by_families",
    "check_season",
    "claim_types",
    "delivery_lines",
    "family_balances",
    "payments_of",
    "receipt_code",
    "record_payment",
    "season_filter",
    "seasons_of",
    "today",
    "void_payment",
]


def overview(
    session: Session, coop: Cooperative, season: int, q: str, *, shown: int, recent: int = 20
) -> tuple[list[Family], dict[uuid.UUID, Balance], list[Any]]:
    """The payments page: the families found by `q` (else those owed most), the season's
    balances, and the latest payments with their families."""
    if q:
        pattern = f"%{q[:60]}%"
        families = list(
            session.exec(
                select(Family)
                .where(
                    Family.cooperative_id == coop.id,
                    or_(Family.member_code.ilike(pattern), Family.head_name.ilike(pattern)),  # type: ignore[attr-defined]
                )
                .order_by(Family.member_code)
                .limit(shown)
            ).all()
        )
        balances = family_balances(session, coop, season, [f.id for f in families])
    else:
        balances = family_balances(session, coop, season)
        owed = sorted(balances.values(), key=lambda b: -b.balance_minor)[:shown]
        by_id = {
            f.id: f
            for f in session.exec(
                select(Family).where(Family.id.in_([b.family_id for b in owed]))  # type: ignore[attr-defined]
            )
        }
        families = [by_id[b.family_id] for b in owed if b.family_id in by_id]
    latest = session.exec(
        select(Payment, Family)
        .join(Family, Family.id == Payment.family_id)  # type: ignore[arg-type]
        .where(Payment.cooperative_id == coop.id, Payment.season == season)
        .order_by(Payment.created_at.desc())  # type: ignore[attr-defined]
        .limit(recent)
    ).all()
    return families, balances, list(latest)


def family_payments_query(family: Family, season: int | None) -> Any:
    """The API's list of a family's payments (of one season, or all), newest first."""
    statement = select(Payment).where(Payment.family_id == family.id)
    if season is not None:
        statement = statement.where(Payment.season == season)
    return statement.order_by(Payment.paid_on.desc(), Payment.created_at.desc())  # type: ignore[attr-defined]
