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

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import Certificate, Cooperative, Lot, Product
from ..models.enums import LotStatus
from . import claim_text, provenance, publication, vocabulary
from . import claims as claims_service
from .errors import Conflict


@dataclass(frozen=True)
class Sheet:
    """A lot's provenance sheet at one public version; `facts` reads the lot's public
    facts for an issue date, only when the sheet is not on disk yet."""

    lot_id: uuid.UUID
    version: int
    facts: Callable[[date], provenance.Provenance]


@dataclass(frozen=True)
class LeftOut:
    """A certificate behind a claim that a sack printed today does not name: it is not in
    force today (suspended, withdrawn, expired, not valid yet), or was not on every date
    the claim rests on. The public page and the sheet qualify such a claim in a sentence;
    a sack has no room for one and outlives the day it was printed, so it names only
    certificates in force, and the manager is told what was left out."""

    certifier: str
    status: str  # today's: active, suspended, withdrawn, expired, not_yet_valid
    since: date | None
    held: bool  # in force on every date the claim rests on
    rests_on: str = claim_text.HARVEST  # or PROCESSING (kosher: the processing dates)

    def text(self) -> str:
        """ "NOP-CU (suspendido desde el 15 jul 2026)", in the request's language."""
        if self.status == "active" and not self.held:
            why = str(claim_text.THEN[(self.rests_on, False)])
        else:
            why = claim_text.standing_text(self.status, self.since)
        return f"{self.certifier} ({why})"


@dataclass(frozen=True)
class LabelClaim:
    """A claim as a sack shows it: its type, its basis, and the codes of the certifiers
    (control bodies: "PE-BIO-149") whose certificates it rests on and are in force today.
    `left_out` names the others; a claim none of whose certificates is in force today
    (`in_force` false) is not printed at all."""

    type: str
    basis: str
    certifiers: tuple[str, ...]
    left_out: tuple[LeftOut, ...] = ()
    in_force: bool = True

    def left_out_text(self) -> str:
        """ "NOP-CU (suspendido desde el 15 jul 2026), …", for the manager's warning."""
        return ", ".join(item.text() for item in self.left_out)


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

    @property
    def printed_claims(self) -> tuple[LabelClaim, ...]:
        """The claims a sack carries: those with a certificate in force today."""
        return tuple(claim for claim in self.claims if claim.in_force)


def _printable(lot: Lot) -> None:
    """A voided lot is printed nothing: its QR code opens no page, and a sheet or a sack
    would vouch for kilos the cooperative took back."""
    if lot.voided_at is not None:
        raise Conflict(_l("This lot is voided: it has no labels, QR code or provenance sheet."))


def sheet(session: Session, lot: Lot, *, public_url: str, version: int | None = None) -> Sheet:
    """The lot's sheet, at its cooperative's current public version unless one is given;
    none for a voided lot (Conflict)."""
    _printable(lot)
    if version is None:
        coop = session.get(Cooperative, lot.cooperative_id)
        assert coop is not None
        version = coop.public_version
    return Sheet(
        lot.id,
        version,
        lambda day: provenance.facts(session, lot, public_url=public_url, today=day),
    )


def printed_uri(
    session: Session, lot: Lot, *, via: publication.Via, public_url: str, publish: bool = True
) -> str:
    """The URI of a QR code about to be printed (labels, artwork): printing publishes the
    lot, so the GS1 Digital Link on the sack opens it; a reader who may not change the
    cooperative's records (an auditor, `publish=False`) is shown the code as it stands.
    None for a voided lot (Conflict)."""
    _printable(lot)
    if publish:
        publication.publish(session, lot=lot, via=via)
    return provenance.qr_uri(public_url, lot)


def labels(session: Session, lot: Lot, *, public_url: str, publish: bool = True) -> Labels:
    """Sack labels of a lot, named with the cooperative's product name when it has one.
    Printing them publishes the lot (unless `publish=False`: `printed_uri`)."""
    if lot.status == LotStatus.CONSUMED:
        # Its kilos went into other lots: a sack labelled with it now would name a lot
        # that no longer holds them.
        raise Conflict(
            _l(
                "Lot %(code)s was used: its kilos are in the lots made from it. Print "
                "their labels.",
                code=lot.code,
            )
        )
    uri = printed_uri(
        session, lot, via=publication.Via.LABELS, public_url=public_url, publish=publish
    )
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
        claims=lot_label_claims(session, lot, coop),
        kind_names=provenance.kind_names(session, lot.cooperative_id),
    )


def lot_label_claims(
    session: Session, lot: Lot, coop: Cooperative | None = None
) -> tuple[LabelClaim, ...]:
    """The lot's claims as a sack printed today at its cooperative shows them."""
    coop = coop or session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    return label_claims(session, lot, today=vocabulary.local_today(coop))


def label_claims(
    session: Session,
    lot: Lot,
    *,
    today: date,
    found: list[claims_service.Claim] | None = None,
    qualified: dict[uuid.UUID, claim_text.Qualification] | None = None,
) -> tuple[LabelClaim, ...]:
    """The lot's claims (the claims engine's), in claim order, each with the codes of its
    certifiers (the certificate's control body code, else the body's name) whose
    certificates are in force `today` and held on every date the claim rests on
    (`claim_text.lot_qualifications`, as the public page reads them), and the others
    apart. `found` and `qualified`: the lot's claims and their qualifications
    (`claim_text.claims_qualified`) when the caller has them."""
    if found is None or qualified is None:
        claimed, qualifications = claim_text.claims_qualified(session, [lot], today=today)
        found, qualified = claimed[lot.id], qualifications[lot.id]
    if not found:
        return ()
    ids = sorted({c for claim in found for c in claim.certificate_ids})
    bodies = {
        cid: code or body
        for cid, code, body in session.execute(
            select(Certificate.id, Certificate.body_code, Certificate.body).where(
                Certificate.cooperative_id == lot.cooperative_id,
                Certificate.id.in_(ids),  # type: ignore[attr-defined]
            )
        )
    }
    return tuple(
        _label_claim(claim, bodies, qualified) for claim in sorted(found, key=lambda c: c.type)
    )


def _label_claim(
    claim: claims_service.Claim,
    bodies: dict[uuid.UUID, str],
    qualified: dict[uuid.UUID, claim_text.Qualification],
) -> LabelClaim:
    """One claim as a sack printed today shows it."""
    printed: list[str] = []
    left_out: list[LeftOut] = []
    in_force = False
    for cid in claim.certificate_ids:
        q = qualified.get(cid)
        if q is None or (q.held and not q.lapsed):
            in_force = True
            if bodies.get(cid):
                printed.append(bodies[cid])
        elif bodies.get(cid):
            left_out.append(LeftOut(bodies[cid], q.status, q.since, q.held, q.rests_on))
    # A certifier printed anyway (a renewal's expired predecessor beside its successor,
    # of one control body) is not said to be left out.
    left_out = [x for x in left_out if x.certifier not in printed]
    return LabelClaim(
        claim.type,
        claim.basis,
        tuple(dict.fromkeys(printed)),
        left_out=tuple(dict.fromkeys(left_out)),
        in_force=in_force,
    )
