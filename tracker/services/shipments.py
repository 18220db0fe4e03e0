"""Shipments: lots sold to a buyer. A shipped lot's kilograms are gone for good, unless
the shipment is voided (a mistake), which opens its lots again."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from .. import formatting
from ..models import Cooperative, Lot, LotOperation, Shipment, ShipmentLot
from ..models.enums import LotStatus
from . import audit, publication
from .cooperatives import bump_public_version
from .errors import Conflict, ValidationFailed
from .lots import EARLIEST, check_lot_open, lock_rows, spend_lot
from .public_version import save_public
from .rows import mark_voided
from .text import given_reason
from .vocabulary import local_today

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
MAX_LOTS = 500


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[: limit + 1]


def create_shipment(
    session: Session,
    *,
    coop: Cooperative,
    buyer_name: str,
    buyer_country: str,
    shipped_on: date | None,
    lot_ids: Sequence[uuid.UUID],
    contract: str | None = "",
    container: str | None = "",
    user_id: uuid.UUID | None = None,
) -> Shipment:
    """Sell the whole of some open lots to one buyer; the lots become shipped."""
    buyer_name, buyer_country, contract, container, day, ids = _checked(
        buyer_name, buyer_country, shipped_on, lot_ids, contract, container
    )
    lots = _open_lots(session, coop, ids)
    _check_made_before(session, lots, day)
    amounts = {lot.id: lot.available_g for lot in lots}
    lock_rows(session, Lot, ids)  # lots' rows in id order before the chain (lots' lock order)
    for lot in lots:
        spend_lot(session, lot, amounts[lot.id], status=LotStatus.SHIPPED)
    shipment = Shipment(
        cooperative_id=coop.id,
        buyer_name=buyer_name,
        buyer_country=buyer_country,
        contract=contract,
        shipped_on=day,
        container=container,
        created_by_id=user_id,
    )
    session.add(shipment)
    session.flush()
    for lot in lots:
        session.add(
            ShipmentLot(
                cooperative_id=coop.id,
                shipment_id=shipment.id,
                lot_id=lot.id,
                grams=amounts[lot.id],
            )
        )
        # Shipped with its labels: from now on its GS1 Digital Link opens it.
        publication.publish(session, lot=lot, via=publication.Via.SHIPPED)
    bump_public_version(session, coop.id)
    session.flush()
    return shipment


def _checked(
    buyer_name: str,
    buyer_country: str,
    shipped_on: date | None,
    lot_ids: Sequence[uuid.UUID],
    contract: str | None,
    container: str | None,
) -> tuple[str, str, str, str, date, list[uuid.UUID]]:
    """A new shipment's fields, cleaned and checked (ValidationFailed names each bad one)."""
    errors: dict[str, list[str]] = {}
    buyer_name = _text(buyer_name, 200)
    buyer_country = _text(buyer_country, 2).upper()
    contract = _text(contract, 100)
    container = _text(container, 40).upper()
    if not buyer_name or len(buyer_name) > 200:
        errors["buyer_name"] = [str(_l("Give the buyer's name (at most 200 characters)."))]
    if not COUNTRY_RE.match(buyer_country):
        errors["buyer_country"] = [str(_l("Use a two-letter ISO country code, e.g. DE."))]
    if len(contract) > 100:
        errors["contract"] = [str(_l("At most 100 characters."))]
    if len(container) > 40:
        errors["container"] = [str(_l("At most 40 characters."))]
    day = shipped_on or local_today()
    if day > local_today():
        errors["shipped_on"] = [str(_l("The date cannot be in the future."))]
    elif day < EARLIEST:
        errors["shipped_on"] = [str(_l("The date is too far in the past."))]
    ids = sorted(set(lot_ids))
    if not ids:
        errors["lot_ids"] = [str(_l("Choose at least one lot."))]
    elif len(ids) != len(lot_ids):
        errors["lot_ids"] = [str(_l("A lot is listed twice."))]
    elif len(ids) > MAX_LOTS:
        errors["lot_ids"] = [str(_l("At most %(n)s lots in one shipment.", n=MAX_LOTS))]
    if errors:
        raise ValidationFailed(errors)
    return buyer_name, buyer_country, contract, container, day, ids


def _open_lots(session: Session, coop: Cooperative, ids: list[uuid.UUID]) -> list[Lot]:
    """The cooperative's lots to ship, each open with kilograms left."""
    lots: list[Lot] = []
    for lot_id in ids:
        lot = session.get(Lot, lot_id)
        if lot is None or lot.cooperative_id != coop.id:
            raise ValidationFailed({"lot_ids": [str(_l("Unknown lot %(id)s.", id=str(lot_id)))]})
        check_lot_open(lot, "lot_ids", to_ship=True)
        lots.append(lot)
    return lots


def _check_made_before(session: Session, lots: list[Lot], day: date) -> None:
    """A shipment is not dated before its lots were made."""
    made_on = max(
        session.exec(
            select(col(LotOperation.occurred_on)).where(
                col(LotOperation.id).in_([lot.operation_id for lot in lots])
            )
        ).all()
    )
    if day < made_on:
        raise ValidationFailed(
            {
                "shipped_on": [
                    str(
                        _l(
                            "The date cannot be before its lots were made (%(day)s).",
                            day=formatting.day(made_on),
                        )
                    )
                ]
            }
        )


def void_shipment(
    session: Session, *, shipment: Shipment, reason: str, user_id: uuid.UUID | None
) -> Shipment:
    """Void a shipment recorded by mistake: its lots are open again with their kilograms."""
    reason = given_reason(reason, _l("Say why the shipment is voided."))
    if shipment.voided_at is not None:
        raise Conflict(_l("This shipment is already voided."))
    links = session.exec(
        select(ShipmentLot)
        .where(ShipmentLot.shipment_id == shipment.id)
        .order_by(ShipmentLot.lot_id)  # type: ignore[arg-type]
    ).all()
    lock_rows(session, Lot, [link.lot_id for link in links])  # before the chain, as lots do
    for link in links:
        changed = audit.update(
            session,
            Lot,
            Lot.id == link.lot_id,
            Lot.status == LotStatus.SHIPPED,
            col(Lot.available_g) + link.grams <= col(Lot.weight_g),
            values={"available_g": col(Lot.available_g) + link.grams, "status": LotStatus.OPEN},
        )
        if len(changed) != 1:
            raise Conflict(_l("A lot of this shipment changed meanwhile. Reload and try again."))
    mark_voided(shipment, reason=reason, user_id=user_id)
    save_public(session, shipment)
    audit.record(
        session,
        cooperative_id=shipment.cooperative_id,
        action="void_effects",
        entity="shipment",
        entity_id=str(shipment.id),
        after={"reopened": {str(link.lot_id): link.grams for link in links}},
    )
    return shipment


def shipment_lots(session: Session, shipment: Shipment) -> list[tuple[Lot, int]]:
    """The shipment's lots with the grams shipped of each, by lot code."""
    rows = session.execute(
        select(Lot, ShipmentLot.grams)
        .join(ShipmentLot, ShipmentLot.lot_id == Lot.id)  # type: ignore[arg-type]
        .where(ShipmentLot.shipment_id == shipment.id)
        .order_by(Lot.code)
    ).all()
    return [(lot, int(grams)) for lot, grams in rows]


__all__ = ["create_shipment", "shipment_lots", "void_shipment"]
