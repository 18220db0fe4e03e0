"""What the printed side of a lot needs: its provenance sheet's facts, its sack labels'
names, and the URI its QR code carries. Printing labels or a QR code publishes the lot.

`documents/sheets.py` renders (and caches) the sheet and the labels from these facts
and runs no query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from ..models import Cooperative, Lot, Product
from . import provenance, publication


@dataclass(frozen=True)
class Sheet:
    """A lot's provenance sheet at one public version; `facts` reads the lot's public
    facts for an issue date, only when the sheet is not on disk yet."""

    lot_id: uuid.UUID
    version: int
    facts: Callable[[date], provenance.Provenance]


@dataclass(frozen=True)
class Labels:
    """What a sack label names besides the lot: the URI of its QR code, the cooperative,
    its product name for the lot's crop and form ("" when it has none), its country."""

    uri: str
    cooperative: str
    product: str
    country: str | None


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
    return Labels(uri, coop.name, product or "", coop.country)
