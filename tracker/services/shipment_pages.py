"""What the shipment pages show, read in one place: the list, the lots open to ship, and
one shipment with its lots, claims and the certificates behind them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Cooperative, Lot, Shipment, ShipmentLot
from ..models.enums import LotStatus
from . import claim_text, lot_pages, shipments, vocabulary

LISTED = 200


def shipment_list(session: Session, coop: Cooperative) -> list[Any]:
    """The latest shipments, each with its number of lots and grams."""
    return list(
        session.execute(
            select(
                Shipment,
                func.count(ShipmentLot.id),  # type: ignore[arg-type]
                func.coalesce(func.sum(ShipmentLot.grams), 0),
            )
            .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id, isouter=True)  # type: ignore[arg-type]
            .where(Shipment.cooperative_id == coop.id)
            .group_by(Shipment.id)  # type: ignore[arg-type]
            .order_by(Shipment.shipped_on.desc(), Shipment.created_at.desc())  # type: ignore[attr-defined]
            .limit(LISTED)
        ).all()
    )


def open_lots(session: Session, coop: Cooperative) -> list[Lot]:
    """The lots that can be shipped, by form and code."""
    return list(
        session.exec(
            select(Lot)
            .where(Lot.cooperative_id == coop.id, Lot.status == LotStatus.OPEN)
            .order_by(Lot.form, Lot.code)
        )
    )


def shipment_page(session: Session, shipment: Shipment) -> dict[str, Any]:
    """One shipment: its lots with grams, their claims, the certificates behind them and
    what was true when."""
    shipped = shipments.shipment_lots(session, shipment)
    shipped_lots = [lot for lot, _g in shipped]
    claims, qualified = claim_text.claims_qualified(
        session, shipped_lots, today=vocabulary.local_today()
    )
    cert_ids = {c for found in claims.values() for claim in found for c in claim.certificate_ids}
    return {
        "shipped": shipped,
        "claims": claims,
        "certificates": lot_pages.certificates_by_id(session, cert_ids),
        "qualified": qualified,
        "total_g": sum(g for _lot, g in shipped),
    }


def shipments_query(coop: Cooperative) -> Any:
    """The API's list of shipments, newest first."""
    return (
        select(Shipment)
        .where(Shipment.cooperative_id == coop.id)
        .order_by(Shipment.shipped_on.desc(), Shipment.created_at.desc())  # type: ignore[attr-defined]
    )
