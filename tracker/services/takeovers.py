"""A device that no longer works (revoked, expired, its person deactivated), taken over.

Its phone may still hold deliveries it printed offline and never synced: the families
hold paper receipts with its numbers. The device enrolled on the phone now takes its
blocks over (`take_over`, one `BlockTakeover` row per block, in the audit log) and sends
what the old one printed, stored in the name of the person the block was issued to
(`receipt_blocks.issued_to`); an entry the old device had sent, whose answer was lost,
is answered again rather than refused (`sent_before`).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, select

from ..models import (
    BlockTakeover,
    Delivery,
    Device,
    IdempotencyRecord,
    ReceiptBlock,
    UnusedKind,
    UnusedReceipt,
    User,
)
from . import access, devices, receipt_blocks
from .errors import Conflict, Forbidden, NotFound, ValidationFailed


def take_over(session: Session, *, device: Device, user: User, old: Device) -> list[ReceiptBlock]:
    """A live device takes over the receipt numbers a device of its centre that no longer
    works still holds, or that a manager voided in its blocks, so that the deliveries that
    one printed and never synced are stored under their printed numbers: a phone revoked
    by mistake, or found after it was reported lost, and enrolled again; the phone of a
    clerk who left (deactivated), taken over by a manager. Only the person who enrolled
    the old device, or a manager, may; the move is in the audit log under the person and
    the device that made it. Asked again, nothing is left to move."""
    if old.cooperative_id != device.cooperative_id:
        raise NotFound(_l("Not found."))
    if old.id == device.id or devices.still_works(session, old):
        raise Conflict(_l("That device still works: it sends its own deliveries."))
    if old.centre_id != device.centre_id:
        centre = devices.centre_of(session, old)
        raise ValidationFailed(
            {
                "device_id": [
                    str(
                        _l(
                            "That device worked at the collection centre %(centre)s: enrol "
                            "this phone at that centre to send what it printed.",
                            centre=centre.name if centre else "",
                        )
                    )
                ]
            }
        )
    manager = access.Principal.for_user(session, user).can(
        access.Permission.MANAGE, device.cooperative_id
    )
    if old.user_id != user.id and not manager:
        raise Forbidden(
            _l(
                "Only the person who enrolled that device, or a manager, can take over its "
                "receipt numbers."
            )
        )
    blocks = session.exec(
        select(ReceiptBlock)
        .where(ReceiptBlock.device_id == old.id)
        .order_by(col(ReceiptBlock.first_seq))
        .with_for_update()
    ).all()
    reclaimable = set(
        session.exec(
            select(UnusedReceipt.block_id).where(
                col(UnusedReceipt.block_id).in_([b.id for b in blocks]),
                col(UnusedReceipt.kind) == UnusedKind.VOIDED.value,
                col(UnusedReceipt.device_id).is_(None),
                col(UnusedReceipt.reclaimed_at).is_(None),
            )
        ).all()
    )
    moved = [b for b in blocks if b.closed_at is None or b.id in reclaimable]
    for block in moved:
        block.device_id = device.id
        session.add(block)
        session.add(
            BlockTakeover(
                cooperative_id=block.cooperative_id,
                block_id=block.id,
                from_device_id=old.id,
                to_device_id=device.id,
                user_id=user.id,
            )
        )
    session.flush()
    return moved


def sent_before(
    session: Session, *, block: ReceiptBlock, device: Device, seq: int, key: str | None
) -> Delivery | None:
    """The delivery already stored under a number of a block this device took over, sent
    with this very Idempotency-Key by the device the block was issued to (its answer was
    lost, so the phone sends it again through the device that took over): the same
    delivery, answered again, not a refusal. Asked only when the number is already on a
    delivery (`receipt_blocks.record_delivery`), with its block locked."""
    if not key:
        return None
    person = receipt_blocks.printed_by(session, block, device)
    if person is None:
        return None
    answered = session.exec(
        select(IdempotencyRecord.id).where(
            IdempotencyRecord.user_id == person,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code == 201,
        )
    ).first()
    if answered is None:
        return None
    return session.exec(
        select(Delivery).where(Delivery.centre_id == block.centre_id, Delivery.receipt_seq == seq)
    ).first()
