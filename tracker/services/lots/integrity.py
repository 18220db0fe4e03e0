"""The books' own check: every place where grams are not conserved."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from ...models import Delivery, Lot, LotInput, LotOperation, Shipment, ShipmentLot
from ...models.enums import LotStatus


def mass_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Every place where grams are not conserved (empty when the books balance).

    For each live operation: edges in = input, lots out = output, input = output + loss;
    for each lot: available + what live operations and shipments took = weight;
    for each delivery: lotted = grams in live lots.
    """
    return (
        _operation_problems(session, cooperative_id)
        + _lot_problems(session, cooperative_id)
        + _delivery_problems(session, cooperative_id)
    )


def _operation_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Live operations whose edges, outputs or loss do not add up."""
    problems: list[str] = []
    ops = session.exec(
        select(LotOperation).where(
            LotOperation.cooperative_id == cooperative_id,
            LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    edge_sums: dict[uuid.UUID, int] = dict(
        session.execute(
            select(LotInput.operation_id, func.sum(LotInput.grams))
            .where(LotInput.cooperative_id == cooperative_id)
            .group_by(col(LotInput.operation_id))
        ).all()
    )
    out_sums: dict[uuid.UUID, int] = dict(
        session.execute(
            select(Lot.operation_id, func.sum(Lot.weight_g))
            .where(Lot.cooperative_id == cooperative_id)
            .group_by(col(Lot.operation_id))
        ).all()
    )
    for op in ops:
        if op.input_g != op.output_g + op.loss_g:
            problems.append(f"operation {op.id}: input {op.input_g} != output + loss")
        if int(edge_sums.get(op.id, 0)) != op.input_g:
            problems.append(f"operation {op.id}: inputs {edge_sums.get(op.id)} != {op.input_g}")
        if int(out_sums.get(op.id, 0)) != op.output_g:
            problems.append(f"operation {op.id}: outputs {out_sums.get(op.id)} != {op.output_g}")
    return problems


def _lot_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Lots whose available grams and what was taken from them do not make their weight."""
    problems: list[str] = []
    live = (
        select(LotInput.source_lot_id, func.sum(LotInput.grams).label("g"))
        .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
        .where(
            LotInput.cooperative_id == cooperative_id,
            LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
            LotInput.source_lot_id.is_not(None),  # type: ignore[union-attr]
        )
        .group_by(col(LotInput.source_lot_id))
    )
    used = {k: int(v) for k, v in session.execute(live).all()}
    shipped = {
        k: int(v)
        for k, v in session.execute(
            select(ShipmentLot.lot_id, func.sum(ShipmentLot.grams))
            .join(Shipment, Shipment.id == ShipmentLot.shipment_id)  # type: ignore[arg-type]
            .where(ShipmentLot.cooperative_id == cooperative_id, Shipment.voided_at.is_(None))  # type: ignore[union-attr]
            .group_by(col(ShipmentLot.lot_id))
        ).all()
    }
    for lot in session.exec(select(Lot).where(Lot.cooperative_id == cooperative_id)):
        if lot.status == LotStatus.VOIDED:
            continue
        taken = used.get(lot.id, 0) + shipped.get(lot.id, 0)
        if lot.available_g + taken != lot.weight_g:
            problems.append(
                f"lot {lot.code}: available {lot.available_g} + used {taken} != {lot.weight_g}"
            )
    return problems


def _delivery_problems(session: Session, cooperative_id: uuid.UUID) -> list[str]:
    """Deliveries whose lotted grams differ from what live lots hold of them."""
    return [
        f"delivery {delivery_id}: lotted {recorded} != {in_lots} in live lots"
        for delivery_id, recorded, in_lots in lotted_mismatches(session, cooperative_id)
    ]


def lotted_mismatches(
    session: Session, cooperative_id: uuid.UUID
) -> list[tuple[uuid.UUID, int, int]]:
    """(delivery id, lotted grams it records, grams live lot inputs take of it) of each
    delivery where the two differ, in id order: one query, compared in the database."""
    live = (
        select(
            col(LotInput.source_delivery_id).label("delivery_id"),
            func.sum(LotInput.grams).label("grams"),
        )
        .join(LotOperation, LotOperation.id == LotInput.operation_id)  # type: ignore[arg-type]
        .where(
            LotInput.cooperative_id == cooperative_id,
            LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
            LotInput.source_delivery_id.is_not(None),  # type: ignore[union-attr]
        )
        .group_by(col(LotInput.source_delivery_id))
        .subquery()
    )
    in_lots = func.coalesce(live.c.grams, 0)
    query = (
        select(col(Delivery.id), col(Delivery.lotted_g), in_lots)
        .outerjoin(live, live.c.delivery_id == col(Delivery.id))
        .where(Delivery.cooperative_id == cooperative_id, col(Delivery.lotted_g) != in_lots)
        .order_by(col(Delivery.id))
    )
    return [(d, int(recorded), int(grams)) for d, recorded, grams in session.execute(query)]
