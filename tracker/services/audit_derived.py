"""What `audit verify` recomputes: the values the log does not follow because they are
derived from audited records (`audit.NOT_FOLLOWED`'s `delivery.lotted_g`, the claims
engine's `delivery_claim` and `delivery_flag` in `audit.UNAUDITED`). An edit of them with
SQL leaves no entry to disagree with, so each is recomputed from the audited records,
set-wise and a chunk of families at a time as the engine does it, and compared with what
is stored, without writing anything.

Claims and flags are compared in the direction that misleads a buyer or a certifier: a
claim the rules do not give (certified kilos without a basis), and a flag the rules raise
that is missing (an over-cap or protected-area alert hidden). A delivery claiming less
than the rules allow, or carrying an alert they no longer raise, overstates nothing; it is
what the engine's next refresh corrects (and what test fixtures that add coverage without
the engine, `factories.cover`, leave behind)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ..models import Certificate, Cooperative, Delivery, DeliveryClaim
from . import audit, conversions
from .audit_findings import RECOMPUTED, Problem, Report
from .bulk import chunks, raw
from .claims.certs import load_certificates
from .claims.deliveries import FAMILY_CHUNK, delivery_flags
from .claims.evaluation import DeliveryRow, Outcome, evaluate, load_families
from .claims.types import family_types
from .imports import collector_paused
from .lots.integrity import lotted_mismatches

# The problems this module finds (audit_findings.RECOMPUTED's codes).
LOTTED = "lotted differs from its lot inputs"
CLAIMS = "claims differ from the rules"
FLAGS = "flags differ from the rules"
assert {LOTTED, CLAIMS, FLAGS} == RECOMPUTED


def check(session: Session, report: Report, chain: str | None) -> None:
    """Recompute the derived values of the cooperatives in scope and report differences."""
    query = select(col(Cooperative.id)).order_by(col(Cooperative.id))
    for coop_id in session.scalars(query):
        if chain is not None and audit.chain_for(coop_id) != chain:
            continue
        for delivery_id, recorded, in_lots in lotted_mismatches(session, coop_id):
            report.add(_problem(LOTTED, delivery_id, "lotted_g", in_lots, recorded))
        coop = session.get(Cooperative, coop_id)
        if coop is not None:
            _check_claims(session, report, coop)


def _problem(code: str, delivery_id: Any, name: str, expected: Any, actual: Any) -> Problem:
    return Problem(
        "record",
        code,
        entity="delivery",
        entity_id=_id_text(delivery_id),
        field=name,
        expected=expected,
        actual=actual,
    )


def _id_text(value: Any) -> str:
    """A delivery id as the log writes it, from the driver's form (`bulk.raw`)."""
    if isinstance(value, str) and len(value) == 32:
        return str(uuid.UUID(hex=value))
    return str(value)


def _check_claims(session: Session, report: Report, coop: Cooperative) -> None:
    """The claims and flags the engine would write, beside those stored, by family chunk."""
    families = sorted(
        set(
            session.scalars(
                select(col(Delivery.family_id))
                .where(col(Delivery.cooperative_id) == coop.id)
                .distinct()
            )
        )
    )
    certs = load_certificates(session, coop.id, types=family_types(session, coop.id))
    numbers = {cert_id: view.number for cert_id, view in certs.items()}
    numbers.update(_numbers(session, coop.id))
    factors = conversions.load(session, coop.id)
    for chunk in chunks(families, FAMILY_CHUNK):
        # A chunk's rows and outcomes all live until it is compared: the cyclic collector
        # scanned them again and again to free nothing (1.3 s of this check's 3.1 s on
        # the demo). Each chunk's are freed by reference counting as the next starts.
        with collector_paused():
            data = load_families(session, coop, chunk, certs, raw_ids=True)
            outcomes = evaluate(coop, certs, data, factors=factors)
            _compare(session, report, chunk, data.deliveries, outcomes, numbers)
    for delivery_id, stray in _strays(session, coop.id):
        report.add(_problem(CLAIMS, delivery_id, "claims", (), _claims(stray, numbers)))


def _compare(
    session: Session,
    report: Report,
    families: Sequence[Any],
    deliveries: list[DeliveryRow],
    outcomes: dict[Any, Outcome],
    numbers: dict[Any, str],
) -> None:
    """Report the families' deliveries that carry a claim the rules do not give, or lack
    a flag they raise (`deliveries`: all of them, in the order problems are reported)."""
    claims = _stored_claims(session, families)
    none = Outcome()
    forged = {d for d, cert, kind in claims if outcomes.get(d, none).claims.get(cert) != kind}
    raised = [delivery_id for delivery_id, outcome in outcomes.items() if outcome.flags]
    flags = _stored_flags(session, raised)
    hidden = {d for d in raised if not outcomes[d].flags <= flags[d]}
    if not forged and not hidden:
        return
    stored: dict[Any, set[tuple[uuid.UUID, str]]] = defaultdict(set)
    for delivery_id, cert_id, kind in claims:
        if delivery_id in forged:
            stored[delivery_id].add((cert_id, kind))
    for delivery in deliveries:
        outcome = outcomes.get(delivery.id, none)
        if delivery.id in forged:  # a claim the rules do not give
            found = (
                _claims(outcome.claims.items(), numbers),
                _claims(stored[delivery.id], numbers),
            )
            report.add(_problem(CLAIMS, delivery.id, "claims", *found))
        if delivery.id in hidden:  # an alert the rules raise, gone
            have = flags[delivery.id]
            found = (tuple(sorted(outcome.flags)), tuple(sorted(have)))
            report.add(_problem(FLAGS, delivery.id, "flags", *found))


def _claims(pairs: Iterable[tuple[Any, str]], numbers: dict[Any, str]) -> tuple[Any, ...]:
    """Claims as (claim type, certificate number) pairs, sorted."""
    return tuple(sorted((kind, numbers.get(cert, str(cert))) for cert, kind in pairs))


def _numbers(session: Session, coop_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Every certificate's number (a forged claim may name one the rules do not read)."""
    query = select(col(Certificate.id), col(Certificate.number)).where(
        col(Certificate.cooperative_id) == coop_id
    )
    return {cert_id: number for cert_id, number in session.execute(query)}


class _CertificateIds(dict[Any, uuid.UUID]):
    """A certificate id as the driver gives it (hex text on SQLite, a `uuid.UUID` from
    psycopg) -> its `uuid.UUID`, made once per certificate."""

    def __missing__(self, value: Any) -> uuid.UUID:
        made = self[value] = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        return made


def _stored_claims(session: Session, families: Sequence[Any]) -> list[tuple[Any, uuid.UUID, str]]:
    """The claims the families' deliveries carry: (raw delivery id, certificate, type)."""
    theirs = select(raw(Delivery.id)).where(col(Delivery.family_id).in_(families))
    query = select(
        raw(DeliveryClaim.delivery_id),
        raw(DeliveryClaim.certificate_id),
        col(DeliveryClaim.claim_type),
    ).where(raw(DeliveryClaim.delivery_id).in_(theirs))
    cert_ids = _CertificateIds()
    return [(d, cert_ids[c], kind) for d, c, kind in session.connection().execute(query)]


def _stored_flags(session: Session, ids: list[Any]) -> dict[Any, set[tuple[str, str]]]:
    """The flags (kind, claim type) these deliveries (raw ids) carry: read only for those
    the rules flag, since only a missing flag misleads."""
    return {d: set(f) for d, f in delivery_flags(session, ids, raw_ids=True).items()}


def _strays(session: Session, coop_id: uuid.UUID) -> Iterator[tuple[Any, set[tuple[Any, str]]]]:
    """Claims of the cooperative on deliveries that are not the cooperative's (another's,
    or none): the rules read no such delivery, so gave none of them."""
    own = select(raw(Delivery.id)).where(col(Delivery.cooperative_id) == coop_id)
    claims: dict[Any, set[tuple[Any, str]]] = defaultdict(set)
    for delivery_id, cert_id, claim_type in session.execute(
        select(
            raw(DeliveryClaim.delivery_id),
            col(DeliveryClaim.certificate_id),
            col(DeliveryClaim.claim_type),
        ).where(
            col(DeliveryClaim.cooperative_id) == coop_id,
            raw(DeliveryClaim.delivery_id).not_in(own),
        )
    ):
        claims[delivery_id].add((cert_id, claim_type))
    for delivery_id in sorted(claims, key=str):
        yield delivery_id, claims[delivery_id]
