"""What payments settled on a delivery, and what happens to it when the delivery is
corrected or voided.

A payment allocated to a delivery settles it and fixes its rule premiums
(services/premiums.py). A correction voids the delivery and records its replacement in
the same action (deliveries.correct); the replacement is the same kilos, rightly written,
so it keeps what was paid on it:

- each live payment's allocation to the old delivery is added to the replacement, oldest
  payment first, up to what the replacement earns (a weight corrected down leaves the
  rest as credit on the family's season);
- each premium a payment fixed stays fixed under the same rule: the same amount where
  the kilos, form and crop are unchanged, else the rule's rate on the new kilos, and only
  while the rule still applies to the replacement (its claim, crop and form).

Nothing carries over when the correction moves the delivery to another family or season:
the payments were made to that family for that season, so they stay there as credit.
The old delivery's allocations stay on file (the payment receipt lists the voided
delivery and what it was corrected as); its fixed premiums are voided with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import Cooperative, Delivery, FixedPremium, Payment, PaymentAllocation, utcnow
from . import premiums
from .cooperatives import season_of


@dataclass
class Settled:
    """What live payments had settled on one delivery: (payment id, amount), oldest
    payment first, and its live fixed premiums."""

    allocations: list[tuple[uuid.UUID, int]]
    fixed: list[FixedPremium]


def _chain(session: Session, delivery: Delivery) -> list[uuid.UUID]:
    """The delivery and those it corrects, back to the one first weighed."""
    found = [delivery.id]
    earlier = delivery.replaces_id
    while earlier is not None and earlier not in found:
        found.append(earlier)
        earlier = session.scalar(
            sa_select(col(Delivery.replaces_id)).where(col(Delivery.id) == earlier)
        )
    return found


def settled_on(session: Session, coop: Cooperative, delivery: Delivery) -> Settled:
    """What live payments settle on the delivery, read before a correction voids it. A
    delivery corrected before counts each payment's largest allocation along its chain of
    corrections: a weight corrected down, then back up, settles again what it settled.
    Only payments to the delivery's own family for its own season count: a link of the
    chain that was another family's, or of another season (a correction moved it), keeps
    its payments where they were made (helper-57)."""
    most: dict[uuid.UUID, int] = {}
    for payment_id, amount in session.execute(
        sa_select(col(PaymentAllocation.payment_id), col(PaymentAllocation.amount_minor))
        .join(Payment, col(Payment.id) == col(PaymentAllocation.payment_id))
        .where(
            col(PaymentAllocation.delivery_id).in_(_chain(session, delivery)),
            col(Payment.voided_at).is_(None),
            col(Payment.family_id) == delivery.family_id,
            col(Payment.season) == season_of(coop, delivery.delivered_on),
        )
        .order_by(col(Payment.paid_on), col(Payment.created_at))
    ):
        most[payment_id] = max(most.get(payment_id, 0), int(amount))
    fixed = session.exec(
        select(FixedPremium).where(
            col(FixedPremium.delivery_id) == delivery.id, col(FixedPremium.voided_at).is_(None)
        )
    ).all()
    return Settled(list(most.items()), list(fixed))


def carry_over(
    session: Session, coop: Cooperative, settled: Settled, old: Delivery, new: Delivery
) -> None:
    """The replacement of a corrected delivery keeps what was paid on it (module docstring)."""
    if not (settled.allocations or settled.fixed):
        return
    season = season_of(coop, new.delivered_on)
    if new.family_id != old.family_id or season != season_of(coop, old.delivered_on):
        return
    premiums.carry_fixed(session, coop, season, settled.fixed, old=old, new=new)
    extra = premiums.delivery_rule_premiums(session, coop, season, [new.id]).get(new.id, 0)
    room = new.amount_minor + new.premium_minor + extra
    for payment_id, allocated in settled.allocations:
        amount = min(allocated, room)
        if amount <= 0:
            break
        session.add(
            PaymentAllocation(
                cooperative_id=coop.id,
                payment_id=payment_id,
                delivery_id=new.id,
                amount_minor=amount,
            )
        )
        room -= amount
    session.flush()


def release(session: Session, delivery: Delivery, user_id: uuid.UUID | None) -> None:
    """A voided delivery's fixed premiums stop being fixed (a correction has carried them
    over to the replacement first): voided with the delivery, with its receipt as reason."""
    reason = str(_l("Delivery %(receipt)s was voided.", receipt=delivery.receipt_number))
    for fixed in session.exec(
        select(FixedPremium).where(
            col(FixedPremium.delivery_id) == delivery.id, col(FixedPremium.voided_at).is_(None)
        )
    ).all():
        fixed.voided_at = delivery.voided_at or utcnow()
        fixed.voided_by_id = user_id
        fixed.void_reason = reason
        session.add(fixed)
    session.flush()


class SettledLine(NamedTuple):
    """One delivery a payment settled: a voided one says what it was corrected as (its
    replacement's receipt number; a replacement corrected again says so on its own line)."""

    allocation: PaymentAllocation
    delivery: Delivery
    corrected_as: str | None


def allocations_of(session: Session, payment: Payment) -> list[SettledLine]:
    """The deliveries a payment settles, voided ones included and marked."""
    replacement = aliased(Delivery)
    rows = session.execute(
        sa_select(PaymentAllocation, Delivery, col(replacement.receipt_number))
        .join(Delivery, col(Delivery.id) == col(PaymentAllocation.delivery_id))
        .outerjoin(replacement, col(replacement.replaces_id) == col(Delivery.id))
        .where(col(PaymentAllocation.payment_id) == payment.id)
        .order_by(col(Delivery.delivered_on), col(Delivery.receipt_number))
    ).all()
    return [SettledLine(a, d, corrected) for a, d, corrected in rows]


def settled_minor(payment: Payment, lines: list[SettledLine]) -> int:
    """What the payment settles on deliveries that still stand: nothing once the payment
    itself is voided (its allocations stay listed, as history)."""
    if payment.voided_at is not None:
        return 0
    return sum(line.allocation.amount_minor for line in lines if line.delivery.voided_at is None)
