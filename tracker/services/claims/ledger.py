"""The mass-balance ledgers of a certificate (rule 2): certified kilograms in, claimed out.

A certificate keeps one ledger per crop it covers: certified cacao never backs a coffee
lot. Credit is every delivery of the crop that carries a claim under the certificate
(rules 1, 4, 5, 6), counted in the crop's ledger unit, the one certifiers count in:
kilograms of green-coffee equivalent for coffee, of dry-bean equivalent for cacao
(services/conversions.py), through the cooperative's own conversion factors, so that
cherry, parchment and green coffee add up. Each delivery is converted and rounded to the
gram on its own, as its premium and a lot's debit are: the credit is the sum of the
deliveries' own equivalents. Debit is every live allocation
(`MassBalanceDebit`, made in claims/massbalance.py) to a lot of the crop.

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

from ...models import Certificate, Delivery, DeliveryClaim, Lot, MassBalanceDebit
from .. import conversions
from ..vocabulary import local_date
from .certs import split_list

# A ledger is a certificate's for one crop: (certificate id, crop).
LedgerKey = tuple[uuid.UUID, str]


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
    """A certificate's ledger for one crop, in grams of the crop's ledger unit
    (conversions.ledger_unit)."""

    certificate_id: uuid.UUID
    crop: str
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


def credits(session: Session, cert_ids: Iterable[uuid.UUID]) -> dict[LedgerKey, int]:
    """Certified grams in, per certificate and crop, in the crop's ledger unit."""
    ids = sorted(set(cert_ids), key=str)
    found: dict[LedgerKey, int] = defaultdict(int)
    if not ids:
        return found
    owners = session.execute(
        select(col(Certificate.cooperative_id), col(Certificate.id)).where(
            col(Certificate.id).in_(ids)
        )
    ).all()
    by_coop: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for coop_id, cert_id in owners:
        by_coop[coop_id].append(cert_id)
    for coop_id, certs in sorted(by_coop.items(), key=lambda item: str(item[0])):
        # Each delivery converted and rounded on its own, as its premium and a lot's debit
        # are: the credit is the sum of the deliveries' own equivalents.
        equivalent = conversions.sql_convert(
            conversions.load(session, coop_id),
            col(Delivery.net_g),
            col(Delivery.form),
            conversions.ledger_form,
        )
        for cert_id, crop, grams in session.execute(
            select(col(DeliveryClaim.certificate_id), col(Delivery.crop), func.sum(equivalent))
            .join(Delivery, col(Delivery.id) == col(DeliveryClaim.delivery_id))
            .where(
                col(DeliveryClaim.certificate_id).in_(certs),
                col(Delivery.voided_at).is_(None),
            )
            .group_by(col(DeliveryClaim.certificate_id), col(Delivery.crop))
        ):
            found[(cert_id, crop)] += int(grams or 0)
    return found


def ledgers(session: Session, cert_ids: Iterable[uuid.UUID]) -> dict[LedgerKey, Ledger]:
    """Each certificate's ledger per crop it covers, its allocations covered first come,
    first served."""
    ids = sorted(set(cert_ids), key=str)
    if not ids:
        return {}
    credit = credits(session, ids)
    result: dict[LedgerKey, Ledger] = {}
    for cert_id, crops in session.execute(
        select(col(Certificate.id), col(Certificate.crops)).where(col(Certificate.id).in_(ids))
    ):
        for crop in split_list(crops):
            result[(cert_id, crop)] = Ledger(cert_id, crop, credit.get((cert_id, crop), 0))
    spent: dict[LedgerKey, int] = defaultdict(int)
    rows = session.execute(
        select(
            col(MassBalanceDebit.id),
            col(MassBalanceDebit.certificate_id),
            col(Lot.crop),
            col(MassBalanceDebit.lot_id),
            col(MassBalanceDebit.grams),
            col(MassBalanceDebit.created_at),
        )
        .join(Lot, col(Lot.id) == col(MassBalanceDebit.lot_id))
        .where(
            col(MassBalanceDebit.certificate_id).in_(ids),
            col(MassBalanceDebit.voided_at).is_(None),
            # an allocation left live on a voided lot (before void_lots voided them too)
            col(Lot.voided_at).is_(None),
        )
        .order_by(col(MassBalanceDebit.created_at), col(MassBalanceDebit.id))
    )
    short: set[LedgerKey] = set()
    for debit_id, cert_id, crop, lot_id, grams, created in rows:
        key = (cert_id, str(crop))
        if key not in result:  # the certificate no longer names the crop: no credit
            result[key] = Ledger(cert_id, str(crop), 0)
        book = result[key]
        covered = key not in short and spent[key] + grams <= book.credit_g
        if covered:
            spent[key] += grams
        else:
            short.add(key)
        book.allocations.append(Allocation(debit_id, lot_id, grams, created, covered))
    return result


def of_certificate(
    books: dict[LedgerKey, Ledger], cert_id: uuid.UUID, crops: str | None
) -> list[Ledger]:
    """One certificate's ledgers out of `ledgers`, in the order its crops are named."""
    order = {crop: at for at, crop in enumerate(split_list(crops))}
    mine = [book for (owner, _crop), book in books.items() if owner == cert_id]
    return sorted(mine, key=lambda b: (order.get(b.crop, len(order)), b.crop))


def certificate_ledgers(session: Session, cert: Certificate) -> list[Ledger]:
    """A certificate's ledgers, one per crop, in the order its crops are named."""
    return of_certificate(ledgers(session, [cert.id]), cert.id, cert.crops)


def ledger(session: Session, cert: Certificate, crop: str | None = None) -> Ledger:
    """A certificate's ledger for one crop: `crop`, or the first it names."""
    books = certificate_ledgers(session, cert)
    wanted = crop or next(iter(split_list(cert.crops)), "")
    return next((b for b in books if b.crop == wanted), Ledger(cert.id, wanted, 0))
