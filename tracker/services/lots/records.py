"""An operation's records (the operation, its output lots, its genealogy edges) and the
readers the other modules share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, col, select

from ...models import Cooperative, Lot, LotInput, LotOperation, Shipment, ShipmentLot, utcnow
from ...models.enums import LotStatus
from .. import audit, bulk
from ..bulk import chunks
from ..cooperatives import bump_public_version
from ..errors import NotFound, ValidationFailed
from ..vocabulary import kg
from .codes import next_code
from .rules import max_lot_g

Edge = tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None, int]


class Step(NamedTuple):
    """One operation and the product it makes: forming, merging, splitting or processing.
    Its output lots share its site and author; `season` is the harvest's (`new_lots`)."""

    kind: str
    day: date
    season: int
    input_g: int
    crop: str
    form: str
    gtin: str | None
    site_id: uuid.UUID | None
    user_id: uuid.UUID | None
    note: str
    process: str | None = None
    yield_confirmed: bool = False

    @classmethod
    def on_lot(
        cls, kind: str, lot: Lot, input_g: int, day: date, user_id: uuid.UUID | None, note: str
    ) -> Step:
        """A step that takes one lot (`input_g`, all it holds) and keeps its product, site
        and harvest: a split; a processing then changes what it changes (`_replace`)."""
        return cls(
            kind, day, lot.season, input_g, lot.crop, lot.form, lot.gtin, lot.site_id, user_id, note
        )


def record_step(
    session: Session, coop: Cooperative, step: Step, weights: Sequence[int]
) -> tuple[LotOperation, list[Lot]]:
    """The operation and its output lots, one of each weight: the one place both are built."""
    output_g = sum(weights)
    operation = LotOperation(
        cooperative_id=coop.id,
        kind=step.kind,
        process=step.process,
        site_id=step.site_id,
        occurred_on=step.day,
        input_g=step.input_g,
        output_g=output_g,
        loss_g=step.input_g - output_g,
        yield_confirmed=step.yield_confirmed,
        note=step.note,
        created_by_id=step.user_id,
    )
    session.add(operation)
    lots = new_lots(session, coop, operation, step, weights)
    return operation, lots


def new_lots(
    session: Session,
    coop: Cooperative,
    operation: LotOperation,
    step: Step,
    weights: Sequence[int],
) -> list[Lot]:
    """The operation's output lots, numbered in order; bumps the public version once.

    The step's `season` is the harvest's, not the operation's: last season's coffee hulled after the
    switch is still of last season (its code and its sheet say so). A lot of deliveries
    is of its earliest delivery's season; a merge of its oldest lot's; a split or a
    process of the lot it takes."""
    limit = max_lot_g()
    if sum(weights) > limit:
        raise ValidationFailed(
            {"lot_ids": [str(_l("A lot can hold at most %(kg)s kg.", kg=kg(limit)))]}
        )
    audit.lock_chain(session, coop.id)  # the chain before the cooperative's row
    bump_public_version(session, coop.id)
    first = next_code(session, coop, step.crop, step.season)
    prefix, start = first.rsplit("-", 1)
    made = []
    for offset, grams in enumerate(weights):
        lot = Lot(
            cooperative_id=coop.id,
            code=f"{prefix}-{int(start) + offset:04d}",
            crop=step.crop,
            form=step.form,
            weight_g=grams,
            available_g=grams,
            gtin=step.gtin,
            status=LotStatus.OPEN,
            season=step.season,
            operation_id=operation.id,
            site_id=step.site_id,
            created_by_id=step.user_id,
        )
        session.add(lot)
        made.append(lot)
    session.flush()
    return made


EDGE_COLUMNS = ("id", "lot_id", "source_lot_id", "source_delivery_id", "grams")


def edges(
    session: Session, coop: Cooperative, operation: LotOperation, rows: Sequence[Edge]
) -> None:
    """Store the genealogy edges (lot, source lot, source delivery, grams) in bulk.

    Core inserts through the driver, logged with every edge's values (`bulk.insert_logged`).
    """
    ids = bulk.new_ids(len(rows))
    values = [(ids[n], *row) for n, row in enumerate(rows)]
    same = {"created_at": utcnow(), "cooperative_id": coop.id, "operation_id": operation.id}
    bulk.insert_logged(
        session,
        LotInput,
        EDGE_COLUMNS,
        values,
        same,
        entity_id=str(operation.id),
        summary={"kind": operation.kind, "grams": sum(r[3] for r in rows)},
    )


def operation_date(session: Session, operation_id: uuid.UUID) -> date:
    return session.exec(
        select(col(LotOperation.occurred_on)).where(col(LotOperation.id) == operation_id)
    ).one()


def inputs_date(session: Session, lots: Sequence[Lot]) -> date:
    """The latest date an input lot was made: nothing is done to a lot before it exists."""
    ids = list({lot.operation_id for lot in lots})
    return session.exec(
        select(func.max(LotOperation.occurred_on)).where(col(LotOperation.id).in_(ids))
    ).one()


def operations_of(session: Session, lots_: Sequence[Lot]) -> dict[uuid.UUID, LotOperation]:
    """The operation that made each lot, by operation id."""
    ids = sorted({lot.operation_id for lot in lots_})
    found: dict[uuid.UUID, LotOperation] = {}
    for chunk in chunks(ids):
        for op in session.exec(select(LotOperation).where(col(LotOperation.id).in_(chunk))):
            found[op.id] = op
    return found


def get_lot(session: Session, coop: Cooperative, lot_id: uuid.UUID) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None or lot.cooperative_id != coop.id:
        raise NotFound(_l("Not found."))
    return lot


def shipped_grams(session: Session, lot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Grams of each lot in live shipments."""
    if not lot_ids:
        return {}
    rows = session.execute(
        select(ShipmentLot.lot_id, func.sum(ShipmentLot.grams))
        .join(Shipment, Shipment.id == ShipmentLot.shipment_id)  # type: ignore[arg-type]
        .where(col(ShipmentLot.lot_id).in_(list(lot_ids)), col(Shipment.voided_at).is_(None))
        .group_by(col(ShipmentLot.lot_id))
    )
    return {lot_id: int(grams) for lot_id, grams in rows}
