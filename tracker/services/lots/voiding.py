"""Voiding a mistaken operation: its lots are voided and its inputs are available again.

Nothing is deleted. The inputs go back set-based (one conditional UPDATE per chunk of
deliveries or lots), so voiding a lot of 10,000 deliveries is as quick as forming it.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from ...models import Delivery, Lot, LotInput, LotOperation, utcnow
from ...models.enums import LotStatus
from .. import audit
from ..errors import Conflict
from ..public_version import save_public
from ..rows import mark_voided
from ..text import given_reason
from .books import give_back_to_deliveries, lock_rows, restore_lots, void_lots


def _check_reason(operation: LotOperation, reason: str) -> str:
    reason = given_reason(reason, _l("Say why the operation is voided."))
    if operation.voided_at is not None:
        raise Conflict(_l("This operation is already voided."))
    return reason


def _sources(
    session: Session, operation_id: uuid.UUID
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Grams the operation took of each delivery and of each source lot."""
    deliveries: dict[uuid.UUID, int] = {}
    lots: dict[uuid.UUID, int] = {}
    rows = session.execute(
        select(LotInput.source_delivery_id, LotInput.source_lot_id, LotInput.grams).where(
            LotInput.operation_id == operation_id
        )
    )
    for delivery_id, lot_id, grams in rows:
        if delivery_id is not None:
            deliveries[delivery_id] = deliveries.get(delivery_id, 0) + grams
        if lot_id is not None:
            lots[lot_id] = lots.get(lot_id, 0) + grams
    return dict(sorted(deliveries.items())), dict(sorted(lots.items()))


def void_operation(
    session: Session, *, operation: LotOperation, reason: str, user_id: uuid.UUID | None
) -> LotOperation:
    """Void a mistaken operation: its lots are voided and its inputs are available again.

    Only while nobody has used its output lots (void those later operations first).
    """
    reason = _check_reason(operation, reason)
    outputs = session.exec(
        select(Lot).where(Lot.operation_id == operation.id).order_by(col(Lot.id))
    ).all()
    from_deliveries, from_lots = _sources(session, operation.id)
    # The writes: deliveries' rows, then lots' rows (in id order), then the chain and the
    # cooperative's row.
    lock_rows(session, Delivery, from_deliveries)
    lock_rows(session, Lot, [*(lot.id for lot in outputs), *from_lots])
    now = utcnow()
    void_lots(session, outputs, reason=reason, user_id=user_id, now=now)
    give_back_to_deliveries(session, from_deliveries)
    restore_lots(session, from_lots, was=[LotStatus.CONSUMED, LotStatus.OPEN])
    audit.lock_chain(session, operation.cooperative_id)
    mark_voided(operation, reason=reason, user_id=user_id, at=now)
    save_public(session, operation)
    given_back = {str(k): v for k, v in [*from_deliveries.items(), *from_lots.items()]}
    audit.record(
        session,
        cooperative_id=operation.cooperative_id,
        action="void_effects",
        entity="lot_operation",
        entity_id=str(operation.id),
        after={
            "voided_lots": [str(lot.id) for lot in outputs],
            "given_back_g": given_back if len(given_back) <= 50 else len(given_back),
        },
    )
    return operation
