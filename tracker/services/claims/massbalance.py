"""The mass-balance ledgers of a certificate (rule 2): certified kilograms in, claimed out.

A certificate keeps one ledger per crop it covers (claims/ledger.py). Credit is every
delivery of the crop that carries a claim under the certificate (rules 1, 4, 5, 6),
counted in the crop's ledger unit, the one certifiers count in: kilograms of green-coffee
equivalent for coffee, of dry-bean equivalent for cacao (services/conversions.py), through
the cooperative's own conversion factors, so that cherry, parchment and green coffee add
up. Debit is every live allocation (`MassBalanceDebit`): a manager gives a lot the "mass
balance" claim by spending the lot's own delivery kilograms, in the same unit, fixed when
the allocation is made, from the ledger of the lot's crop.

`ledgers` is the one computation of a balance: the certificate pages and API, the lot
page's mass-balance options, the season report (page, PDF, JSON) and the dashboard all
read it. A ledger covers the certificate's whole validity (its claims can only come from
deliveries in it), and is computed when read: a change of conversion factors moves the
credit at once, and the allocations it no longer covers lose their claim (below).

The ledger never goes below zero when an allocation is made: the certificate's row is
locked first, so two managers spending the same credit queue and the second sees the
first's debit (PostgreSQL: SELECT ... FOR UPDATE; SQLite: writes start with BEGIN
IMMEDIATE). Credit can still shrink later (a certificate suspended from a past date, a
delivery found over the cap): allocations are then covered in the order they were made,
and those the ledger no longer covers lose the claim, so claims out never exceed kg in.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlmodel import Session, col

from ...models import Certificate, Lot, MassBalanceDebit, utcnow
from ...models.enums import Basis, LotStatus
from .. import conversions, genealogy
from ..errors import Conflict, ValidationFailed
from ..public_version import save_public
from ..text import given_reason
from ..vocabulary import kg_text, local_today
from .ledger import (
    Allocation,
    Ledger,
    LedgerKey,
    certificate_ledgers,
    ledger,
    ledgers,
    of_certificate,
)
from .lots import LotContext
from .types import MassBalanceOption, covers_families

# The ledgers are read through this module too: `massbalance.certificate_ledgers(...)`.
__all__ = [
    "Allocation",
    "Ledger",
    "LedgerKey",
    "allocate",
    "certificate_ledgers",
    "ledger",
    "ledgers",
    "of_certificate",
    "options_for",
    "void_allocation",
]


def _lock(session: Session, cert: Certificate) -> None:
    """Hold the certificate's row until the action ends: allocations from it queue."""
    session.execute(
        select(col(Certificate.id)).where(col(Certificate.id) == cert.id).with_for_update()
    ).one()


def allocate(
    session: Session,
    *,
    lot: Lot,
    certificate: Certificate,
    user_id: uuid.UUID | None,
    today: date | None = None,
) -> MassBalanceDebit:
    """Give a lot the mass-balance claim of a certificate, spending the lot's delivery
    kilograms (in the ledger unit) from the certificate's ledger."""
    if certificate.cooperative_id != lot.cooperative_id:
        raise ValidationFailed({"certificate_id": [str(_l("Unknown certificate."))]})
    if certificate.basis != Basis.MASS_BALANCE or not covers_families(
        session, certificate.cooperative_id, certificate.type
    ):
        raise ValidationFailed(
            {"certificate_id": [str(_l("This certificate does not work by mass balance."))]}
        )
    _lock(session, certificate)
    session.refresh(lot)
    _refuse_if_gone(lot)
    context = LotContext(session, lot.cooperative_id, [lot])
    cert = context.certs[certificate.id]
    day = today or local_today()
    if not cert.in_scope(lot.crop, lot.form):
        raise ValidationFailed(
            {"certificate_id": [str(_l("The certificate does not cover this lot's product."))]}
        )
    if not cert.active_on(day):
        raise Conflict(
            _l("Certificate %(number)s is not active today.", number=certificate.number),
            field="certificate_id",
        )
    if context.allocated.get(lot.id, {}).get(certificate.id) is not None:
        raise Conflict(
            _l(
                "Lot %(code)s already has an allocation under certificate %(number)s.",
                code=lot.code,
                number=certificate.number,
            ),
            field="certificate_id",
        )
    if any(c.type == certificate.type for c in context.claims(lot)):
        raise Conflict(
            _l("Lot %(code)s already carries this claim.", code=lot.code), field="certificate_id"
        )
    need = context.reference_need(lot.id, certificate.id)
    book = context.ledgers.get((certificate.id, lot.crop))
    balance = book.balance_g if book is not None else 0
    if need <= 0:
        raise ValidationFailed({"lot_id": [str(_l("The lot has no deliveries to account for."))]})
    if need > balance:
        raise Conflict(
            _l(
                "The ledger of certificate %(number)s holds %(balance)s %(unit)s; this lot "
                "needs %(kg)s.",
                number=certificate.number,
                unit=conversions.ledger_unit(lot.crop),
                balance=kg_text(max(balance, 0)),
                kg=kg_text(need),
            ),
            field="certificate_id",
        )
    debit = MassBalanceDebit(
        cooperative_id=lot.cooperative_id,
        certificate_id=certificate.id,
        lot_id=lot.id,
        grams=need,
        created_by_id=user_id,
    )
    save_public(session, debit)
    return debit


def _refuse_if_gone(lot: Lot) -> None:
    """A used or voided lot's kilos are elsewhere; a shipped lot reached the buyer with
    the claims it had then (its documents, its page): a claim given afterwards was never
    sold with it."""
    if lot.voided_at is not None or lot.status in (LotStatus.VOIDED, LotStatus.CONSUMED):
        raise Conflict(
            _l("Lot %(code)s was used or voided: allocate to the lot it went into.", code=lot.code)
        )
    if lot.status == LotStatus.SHIPPED:
        raise Conflict(
            _l(
                "Lot %(code)s was shipped: its claims went with it and cannot be added now.",
                code=lot.code,
            ),
            field="certificate_id",
        )


def void_allocation(
    session: Session,
    *,
    lot: Lot,
    certificate: Certificate,
    reason: str,
    user_id: uuid.UUID | None,
) -> MassBalanceDebit:
    """Take a mass-balance claim back: the credit returns to the ledger."""
    say_why = _l("Say why, in at most 500 characters.")
    reason = given_reason(reason, say_why, too_long=say_why)
    _lock(session, certificate)
    debit = session.scalars(
        select(MassBalanceDebit).where(
            col(MassBalanceDebit.lot_id) == lot.id,
            col(MassBalanceDebit.certificate_id) == certificate.id,
            col(MassBalanceDebit.voided_at).is_(None),
        )
    ).first()
    if debit is None:
        raise Conflict(
            _l(
                "Lot %(code)s has no allocation under certificate %(number)s.",
                code=lot.code,
                number=certificate.number,
            ),
            field="certificate_id",
        )
    _refuse_if_counted_on(session, lot, certificate)
    debit.voided_at = utcnow()
    debit.voided_by_id = user_id
    debit.void_reason = reason
    save_public(session, debit)
    return debit


def _refuse_if_counted_on(session: Session, lot: Lot, certificate: Certificate) -> None:
    """A lot made from this one and allocated under the same certificate spent only the
    kilos this allocation did not (`LotContext.reference_need`): taking this one back
    would leave those kilos claimed and never debited. Take that one back first."""
    later = genealogy.forward(session, lot_id=lot.id).lot_ids
    if not later:
        return
    code = session.scalars(
        select(col(Lot.code))
        .join(MassBalanceDebit, col(MassBalanceDebit.lot_id) == col(Lot.id))
        .where(
            col(MassBalanceDebit.lot_id).in_(later),
            col(MassBalanceDebit.certificate_id) == certificate.id,
            col(MassBalanceDebit.voided_at).is_(None),
        )
    ).first()
    if code is not None:
        raise Conflict(
            _l(
                "Lot %(later)s, made from this lot, has its own allocation under certificate "
                "%(number)s, which counts on this one: take that one back first.",
                later=code,
                number=certificate.number,
            ),
            field="certificate_id",
        )


def options_for(session: Session, context: LotContext, lot: Lot) -> list[MassBalanceOption]:
    """The mass-balance certificates that could back this lot, with their balances."""
    options: list[MassBalanceOption] = []
    if lot.voided_at is not None or not context.ledgers:
        return options
    for (cert_id, crop), book in sorted(context.ledgers.items(), key=lambda item: str(item[0])):
        cert = context.certs[cert_id]
        if crop != lot.crop or not cert.in_scope(lot.crop, lot.form):
            continue
        need = context.reference_need(lot.id, cert_id)
        allocation = context.allocated.get(lot.id, {}).get(cert_id)
        if allocation is None and lot.status in (LotStatus.CONSUMED, LotStatus.SHIPPED):
            continue  # `allocate` refuses a used or shipped lot: offer nothing it would refuse
        options.append(
            MassBalanceOption(
                certificate_id=cert_id,
                type=cert.type,
                balance_g=book.balance_g,
                needs_g=need,
                allocated=allocation is not None,
                covered=bool(allocation and allocation.covered),
                reference_form=conversions.ledger_unit(lot.crop),
            )
        )
    return options
