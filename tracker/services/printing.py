"""What the printed side of a lot needs: its provenance sheet's facts, its sack labels'
names, and the URI its QR code carries. Printing labels or a QR code publishes the lot.

`documents/sheets.py` renders (and caches) the sheet and the labels from these facts
and runs no query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from ..models import Certificate, Cooperative, Lot, Product
from . import claims as claims_service
from . import provenance, publication


@dataclass(frozen=True)
class Sheet:
    """A lot's provenance sheet at one public version; `facts` reads the lot's public
    facts for an issue date, only when the sheet is not on disk yet."""

    lot_id: uuid.UUID
    version: int
    facts: Callable[[date], provenance.Provenance]


@dataclass(frozen=True)
class LabelClaim:
    """A claim as a sack shows it: its type, its basis, and the codes of the certifiers
    (control bodies: "PE-BIO-149") whose certificates it rests on."""

    type: str
    basis: str
    certifiers: tuple[str, ...]


@dataclass(frozen=True)
class Labels:
    """What a sack label names besides the lot: the URI of its QR code, the cooperative,
    its product name for the lot's crop and form ("" when it has none), its country, the
    lot's claims with their certifiers, and the names (Spanish, English) of the claim
    types the cooperative added."""

    uri: str
    cooperative: str
    product: str
    country: str | None
    claims: tuple[LabelClaim, ...] = ()
    kind_names: dict[str, tuple[str, str]] = field(default_factory=dict)


def sheet(session: Session, lot: Lot, *, public_url: str, version: int | None = None) -> Sheet:
    """The lot's sheet, at its cooperative's current public version unless one is given."""
    if version is None:
        coop = session.get(Cooperative, lot.cooperative_id)
        assert coop is not None
        version = coop.public_version
    return Sheet(
        lot.id,
        version,
        lambda day: provenance.facts(session, lot, public_url=public_url, today=day),
    )


def printed_uri(session: Session, lot: Lot, *, via: publication.Via, public_url: str) -> str:
    """The URI of a QR code about to be printed (labels, artwork): printing publishes the
    lot, so the GS1 Digital Link on the sack opens it."""
    publication.publish(session, lot=lot, via=via)
    return provenance.qr_uri(public_url, lot)


def labels(session: Session, lot: Lot, *, public_url: str) -> Labels:
    """Sack labels of a lot, named with the cooperative's product name when it has one.
    Printing them publishes the lot."""
    uri = printed_uri(session, lot, via=publication.Via.LABELS, public_url=public_url)
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    product = session.exec(
        select(Product.name).where(
            Product.cooperative_id == lot.cooperative_id,
            Product.crop == lot.crop,
            Product.form == lot.form,
        )
    ).first()
    return Labels(
        uri,
        coop.name,
        product or "",
        coop.country,
        claims=label_claims(session, lot),
        kind_names=provenance.kind_names(session, lot.cooperative_id),
    )


def label_claims(session: Session, lot: Lot) -> tuple[LabelClaim, ...]:
    """The lot's claims (the claims engine's), each with its certifiers' codes (the
    certificate's control body code, else the body's name), in claim order."""
    found = claims_service.lot_claims(session, [lot]).get(lot.id, [])
    ids = sorted({c for claim in found for c in claim.certificate_ids})
    bodies = (
        {
            cid: code or body
            for cid, code, body in session.execute(
                select(Certificate.id, Certificate.body_code, Certificate.body).where(
                    Certificate.cooperative_id == lot.cooperative_id,
                    Certificate.id.in_(ids),  # type: ignore[attr-defined]
                )
            )
        }
        if ids
        else {}
    )
    return tuple(
        LabelClaim(
            claim.type,
            claim.basis,
            tuple(dict.fromkeys(bodies[c] for c in claim.certificate_ids if bodies.get(c))),
        )
        for claim in sorted(found, key=lambda c: c.type)
    )
