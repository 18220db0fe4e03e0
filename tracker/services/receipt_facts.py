"""What a payment receipt shows, read once: the payment, the family and its community,
the cooperative, the deliveries it settled, and the family's season balance after it.

`documents/receipts.py` lays it out (page or A5 PDF) and runs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from ..models import Community, Cooperative, Family, Payment
from . import payments, settlements
from .vocabulary import local_today


@dataclass
class ReceiptFacts:
    payment: Payment
    family: Family
    community: Community | None
    coop: Cooperative
    allocations: list[settlements.SettledLine]
    balance: payments.Balance
    # The day the balance is of: the receipt is printed again later, when later payments
    # and deliveries have moved it, and says so.
    as_of: date


def of(session: Session, payment: Payment) -> ReceiptFacts:
    """Everything the receipt (PDF or page) shows about one payment."""
    family = session.get(Family, payment.family_id)
    coop = session.get(Cooperative, payment.cooperative_id)
    assert family is not None and coop is not None
    community = session.get(Community, family.community_id)
    return ReceiptFacts(
        payment=payment,
        family=family,
        community=community,
        coop=coop,
        allocations=settlements.allocations_of(session, payment),
        balance=payments.balance(session, family, payment.season),
        as_of=local_today(coop),
    )
