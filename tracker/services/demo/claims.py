"""The demo's claims: every delivery's claims and flags materialised by the engine, and one
cacao lot given the fair-trade claim by mass balance (the cacao fair-trade certificate
works by mass balance, so its lots carry the claim only through the ledger)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from ...models import DeliveryClaim, DeliveryFlag, Lot
from ...models.enums import LotStatus
from .. import claims
from ..claims import massbalance
from ..errors import DomainError
from .base import Demo


def build_claims(session: Session, demo: Demo) -> None:
    """Recompute every claim of both cooperatives and note what the engine found."""
    for code, coop in demo.coops.items():
        claims.refresh_cooperative(session, coop)
        carried = dict(
            session.execute(
                select(
                    col(DeliveryClaim.claim_type),
                    func.count(func.distinct(col(DeliveryClaim.delivery_id))),
                )
                .where(col(DeliveryClaim.cooperative_id) == coop.id)
                .group_by(col(DeliveryClaim.claim_type))
            ).all()
        )
        flagged = dict(
            session.execute(
                select(
                    col(DeliveryFlag.kind), func.count(func.distinct(col(DeliveryFlag.delivery_id)))
                )
                .where(col(DeliveryFlag.cooperative_id) == coop.id)
                .group_by(col(DeliveryFlag.kind))
            ).all()
        )
        demo.notes.append(
            f"{code}: deliveries with claims "
            + ", ".join(f"{t} {n}" for t, n in sorted(carried.items()))
            + f"; {flagged.get('over_cap', 0)} over a volume cap, "
            f"{flagged.get('protected_area', 0)} from the protected area"
        )
    _mass_balance(session, demo)


def _mass_balance(session: Session, demo: Demo) -> None:
    """Spend cacao fair-trade credit on an open dry-bean lot, as a manager would."""
    coop = demo.coops.get("CHU")
    cert = demo.certificates.get("CHU", {}).get("fairtrade")
    if coop is None or cert is None:
        return
    wanted = [demo.special.get("lot_cacao_stock_id"), demo.special.get("lot_cacao_dried_id")]
    candidates = [session.get(Lot, lot_id) for lot_id in wanted if lot_id is not None]
    candidates += list(
        session.scalars(
            select(Lot)
            .where(col(Lot.cooperative_id) == coop.id, col(Lot.status) == LotStatus.OPEN)
            .order_by(col(Lot.code))
        )
    )
    manager = demo.users["manager.CHU"].id
    for lot in candidates:
        if lot is None or lot.status != LotStatus.OPEN:
            continue
        try:
            with session.begin_nested():
                massbalance.allocate(session, lot=lot, certificate=cert, user_id=manager)
        except DomainError:
            continue
        demo.special["lot_mass_balance_id"] = lot.id
        demo.notes.append(f"CHU: lot {lot.code} carries fair trade by mass balance")
        return
