"""The mass-balance ledger of a certificate (rule 2): certified kilograms in, claimed out.

Credit is every delivery that carries a claim under the certificate (rules 1, 4, 5, 6),
counted in the crop's ledger unit, the one certifiers count in: kilograms of green-coffee
equivalent for coffee, of dry-bean equivalent for cacao (services/conversions.py), through
the cooperative's own conversion factors, so that cherry, parchment and green coffee add
up. Debit is every live allocation (`MassBalanceDebit`, made in claims/massbalance.py).

`ledgers` is the one computation of a balance: the certificate pages and API, the lot
page's mass-balance options, the season report (page, PDF, JSON) and the dashboard all
read it. A ledger covers the certificate's whole validity (its claims can only come from
deliveries in it), and is computed when read: a change of conversion factors moves the
credit at once. Credit can shrink later (a certificate suspended from a past date, a
delivery found over the cap): allocations are then covered in the order they were made,
and those the ledger no longer covers lose the claim, so claims out never exceed kg in.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from ...models import Certificate, Delivery, DeliveryClaim, MassBalanceDebit
from .. import conversions
from ..vocabulary import local_date


@dataclass(frozen=True)
class Allocation:
    """A live debit, and whether the ledger's credit still covers it."""

    id: uuid.UUID
    lot_id: uuid.UUID
    grams: int
    created_at: datetime
    covered: bool

    @property
    def created_on(self) -> date:
        return local_date(self.created_at)


@dataclass
class Ledger:
    """A certificate's ledger, in grams of its crop's ledger unit (conversions.ledger_unit)."""

    certificate_id: uuid.UUID
    credit_g: int
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def debit_g(self) -> int:
        return sum(a.grams for a in self.allocations)

    @property
    def balance_g(self) -> int:
        return self.credit_g - self.debit_g

    @property
    def covered_g(self) -> int:
        return sum(a.grams for a in self.allocations if a.covered)


def credits(session: Session, cert_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Certified grams in, per certificate, in the crop's ledger unit."""
    ids = sorted(set(cert_ids), key=str)
    found: dict[uuid.UUID, int] = defaultdict(int)
    if not ids:
        return found
    factors: dict[uuid.UUID, conversions.Factors] = {}
    for coop_id, cert_id, form, grams in session.execute(
        select(
            col(DeliveryClaim.cooperative_id),
            col(DeliveryClaim.certificate_id),
            col(Delivery.form),
            func.sum(col(Delivery.net_g)),
        )
        .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
        .where(
            col(DeliveryClaim.certificate_id).in_(ids),
            col(Delivery.voided_at).is_(None),
        )
        .group_by(
            col(DeliveryClaim.cooperative_id), col(DeliveryClaim.certificate_id), col(Delivery.form)
        )
    ):
        if coop_id not in factors:
            factors[coop_id] = conversions.load(session, coop_id)
        found[cert_id] += factors[coop_id].to_ledger(form, int(grams))
    return found


def ledgers(session: Session, cert_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Ledger]:
    """Each certificate's ledger, its allocations covered first come, first served."""
    ids = sorted(set(cert_ids), key=str)
    if not ids:
        return {}
    credit = credits(session, ids)
    result = {cert_id: Ledger(cert_id, credit.get(cert_id, 0)) for cert_id in ids}
    spent: dict[uuid.UUID, int] = defaultdict(int)
    rows = session.execute(
        select(
            col(MassBalanceDebit.id),
            col(MassBalanceDebit.certificate_id),
            col(MassBalanceDebit.lot_id),
            col(MassBalanceDebit.grams),
            col(MassBalanceDebit.created_at),
        )
        .where(
            col(MassBalanceDebit.certificate_id).in_(ids),
            col(MassBalanceDebit.voided_at).is_(None),
        )
        .order_by(col(MassBalanceDebit.created_at), col(MassBalanceDebit.id))
    )
    short: set[uuid.UUID] = set()
    for debit_id, cert_id, lot_id, grams, created in rows:
        ledger = result[cert_id]
        covered = cert_id not in short and spent[cert_id] + grams <= ledger.credit_g
        if covered:
            spent[cert_id] += grams
        else:
            short.add(cert_id)
        ledger.allocations.append(Allocation(debit_id, lot_id, grams, created, covered))
    return result


def ledger(session: Session, cert: Certificate) -> Ledger:
    return ledgers(session, [cert.id])[cert.id]
