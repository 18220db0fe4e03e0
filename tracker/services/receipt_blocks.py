"""Receipt-number blocks: a centre's paper receipt book (talonario), held by a device.

Online, a device is issued a block of consecutive numbers taken from its centre's gapless
counter (`deliveries.take_receipts`, the very lock online deliveries take), so a number
is either on an online delivery or in exactly one block. Offline, the device prints its
block's numbers on the receipts it hands out; when a delivery syncs it is stored under
the number printed on its paper, which must be one of the device's own, unused and not
given back. Numbers that will never be used are returned by the device or voided with a
reason, one row per number: an auditor can account for every number of a centre (used,
returned, voided, or still held by a named device).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from ..formatting import ngettext
from ..models import (
    BlockTakeover,
    CollectionCentre,
    Cooperative,
    Delivery,
    Device,
    ReceiptBlock,
    UnusedKind,
    UnusedReceipt,
    utcnow,
)
from . import deliveries
from .errors import Conflict, ValidationFailed
from .rows import lock_fresh
from .text import given_reason

BLOCK_SIZE = 50
# Numbers one device may hold unused at once: enough for a long day offline, few
# enough that a lost phone leaves little to void. One block is at most that many.
MAX_HELD = 300


@dataclass
class Usage:
    """How the numbers of one block are accounted for."""

    block: ReceiptBlock
    used: int = 0
    returned: int = 0
    voided: int = 0

    @property
    def size(self) -> int:
        """Numbers in the block."""
        return self.block.last_seq - self.block.first_seq + 1

    @property
    def held(self) -> int:
        """Numbers still in the device's hands: neither used nor given up."""
        return self.size - self.used - self.returned - self.voided


def usage(session: Session, blocks: Iterable[ReceiptBlock]) -> dict[uuid.UUID, Usage]:
    """Used, returned and voided counts per block (two GROUP BY queries)."""
    found = {b.id: Usage(b) for b in blocks}
    if not found:
        return found
    used = session.exec(
        select(col(ReceiptBlock.id), func.count(col(Delivery.id)))
        .join(
            Delivery,
            and_(
                col(Delivery.centre_id) == col(ReceiptBlock.centre_id),
                col(Delivery.receipt_seq) >= col(ReceiptBlock.first_seq),
                col(Delivery.receipt_seq) <= col(ReceiptBlock.last_seq),
            ),
        )
        .where(col(ReceiptBlock.id).in_(list(found)))
        .group_by(col(ReceiptBlock.id))
    ).all()
    for block_id, count in used:
        found[block_id].used = int(count)
    given_up = session.exec(
        select(col(UnusedReceipt.block_id), col(UnusedReceipt.kind), func.count())
        .where(
            col(UnusedReceipt.block_id).in_(list(found)),
            col(UnusedReceipt.reclaimed_at).is_(None),  # on a delivery now: counted as used
        )
        .group_by(col(UnusedReceipt.block_id), col(UnusedReceipt.kind))
    ).all()
    for block_id, kind, count in given_up:
        setattr(found[block_id], kind, int(count))
    return found


def open_blocks(session: Session, device: Device) -> list[ReceiptBlock]:
    """The device's blocks with numbers not yet accounted for."""
    return list(
        session.exec(
            select(ReceiptBlock)
            .where(ReceiptBlock.device_id == device.id, ReceiptBlock.closed_at.is_(None))  # type: ignore[union-attr]
            .order_by(col(ReceiptBlock.first_seq))
        ).all()
    )


def issue(
    session: Session, *, device: Device, size: int = BLOCK_SIZE, user_id: uuid.UUID | None
) -> ReceiptBlock:
    """Issue the device a new block from its centre's counter (under the counter's lock)."""
    if not 1 <= size <= MAX_HELD:
        raise ValidationFailed(
            {"size": [str(_l("Ask for 1 to %(n)s receipt numbers.", n=MAX_HELD))]}
        )
    if device.revoked_at is not None:
        raise Conflict(_l("This device was revoked."))
    held = sum(u.held for u in usage(session, open_blocks(session, device)).values())
    if held + size > MAX_HELD:
        raise Conflict(
            ngettext(
                "This device already holds %(num)s unused receipt number; use or return it first.",
                "This device already holds %(num)s unused receipt numbers; use or return them "
                "first.",
                held,
            )
        )
    first = deliveries.take_receipts(session, device.centre_id, size)
    block = ReceiptBlock(
        cooperative_id=device.cooperative_id,
        centre_id=device.centre_id,
        device_id=device.id,
        first_seq=first,
        last_seq=first + size - 1,
        issued_by_id=user_id,
    )
    session.add(block)
    session.flush()
    return block


def locked_block(session: Session, device: Device, seq: int) -> ReceiptBlock | None:
    """The device's block holding `seq`, locked: a sync and a void of the same number queue."""
    return session.exec(
        select(ReceiptBlock)
        .where(
            ReceiptBlock.device_id == device.id,
            ReceiptBlock.first_seq <= seq,
            ReceiptBlock.last_seq >= seq,
        )
        .with_for_update()
    ).first()


def _given_up(session: Session, centre_id: uuid.UUID, seq: int) -> UnusedReceipt | None:
    """The row that gave the number up (returned or voided), if any."""
    return session.exec(
        select(UnusedReceipt).where(UnusedReceipt.centre_id == centre_id, UnusedReceipt.seq == seq)
    ).first()


def _reclaimable(given_up: UnusedReceipt) -> bool:
    """A number a manager voided (a phone reported lost) that the device printed all the
    same: the family holds a paper receipt with it, so its delivery is stored under it.
    A number the device itself returned (never printed) or voided (the clerk discarded
    that delivery) stays refused."""
    return (
        given_up.kind == UnusedKind.VOIDED.value
        and given_up.device_id is None
        and given_up.reclaimed_at is None
    )


_REFUSALS = {
    UnusedKind.RETURNED.value: _l("Receipt number %(number)s was returned unused."),
    UnusedKind.VOIDED.value: _l("Receipt number %(number)s was voided."),
}


class OnAnotherDelivery(ValidationFailed):
    """The number is already on a delivery (`block`, locked, holds it)."""

    def __init__(self, block: ReceiptBlock, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.block = block


def claim(session: Session, *, device: Device, centre: CollectionCentre, seq: int) -> ReceiptBlock:
    """Check that a number printed by the device may be stored: one of its blocks', not on
    a delivery, not given up (but for a manager's void, which the delivery reclaims)."""
    number = deliveries.receipt_number(centre.code, seq)
    block = locked_block(session, device, seq) if seq >= 1 else None
    if block is None:
        raise ValidationFailed(
            {
                "receipt_seq": [
                    str(_l("Receipt number %(number)s is not one of this device's.", number=number))
                ]
            }
        )
    if session.exec(
        select(Delivery.id).where(Delivery.centre_id == centre.id, Delivery.receipt_seq == seq)
    ).first():
        raise OnAnotherDelivery(
            block,
            {
                "receipt_seq": [
                    str(
                        _l(
                            "Receipt number %(number)s is already on another delivery.",
                            number=number,
                        )
                    )
                ]
            },
        )
    given_up = _given_up(session, centre.id, seq)
    if given_up is not None:
        if not _reclaimable(given_up):
            raise ValidationFailed(
                {"receipt_seq": [str(_REFUSALS[given_up.kind] % {"number": number})]}
            )
        given_up.reclaimed_at = utcnow()
        session.add(given_up)
        session.flush()
    return block


def record_delivery(
    session: Session,
    *,
    device: Device,
    data: deliveries.DeliveryData,
    seq: int,
    stored_before: Callable[[ReceiptBlock], Delivery | None] | None = None,
) -> Delivery:
    """Store a delivery recorded offline under the receipt number printed on its paper.
    A number already on a delivery is refused, unless `stored_before` (asked only then,
    with the number's locked block) finds that very delivery sent again."""
    coop = session.get(Cooperative, device.cooperative_id)
    centre = session.get(CollectionCentre, device.centre_id)
    assert coop is not None and centre is not None
    try:
        block = claim(session, device=device, centre=centre, seq=seq)
    except OnAnotherDelivery as refused:
        again = stored_before(refused.block) if stored_before else None
        if again is None:
            raise
        return again
    clerk_id = printed_by(session, block, device) or device.user_id
    delivery = deliveries.record(
        session, coop=coop, centre=centre, clerk_id=clerk_id, data=data, receipt_seq=seq
    )
    close_if_done(session, block)
    return delivery


def _reason(reason: str) -> str:
    """A number given up always says why."""
    return given_reason(" ".join((reason or "").split()), _l("Say why."))


def _give_up(
    session: Session,
    block: ReceiptBlock,
    seqs: Iterable[int],
    *,
    kind: UnusedKind,
    reason: str,
    user_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
) -> int:
    """Record numbers of a (locked) block as returned or voided; returns how many."""
    count = 0
    for seq in seqs:
        session.add(
            UnusedReceipt(
                cooperative_id=block.cooperative_id,
                centre_id=block.centre_id,
                block_id=block.id,
                seq=seq,
                kind=kind.value,
                reason=reason,
                user_id=user_id,
                device_id=device_id,
            )
        )
        count += 1
    session.flush()
    close_if_done(session, block)
    return count


def _unused_from(session: Session, block: ReceiptBlock, first: int) -> list[int]:
    """The block's numbers from `first` on that are neither on a delivery nor given up."""
    taken = set(
        session.exec(
            select(Delivery.receipt_seq).where(
                Delivery.centre_id == block.centre_id,
                Delivery.receipt_seq >= first,
                Delivery.receipt_seq <= block.last_seq,
            )
        ).all()
    ) | set(session.exec(select(UnusedReceipt.seq).where(UnusedReceipt.block_id == block.id)).all())
    return [
        seq for seq in range(max(first, block.first_seq), block.last_seq + 1) if seq not in taken
    ]


def _lock(session: Session, block: ReceiptBlock) -> ReceiptBlock:
    """The block row, locked and fresh: a sync and a void of its numbers queue."""
    return lock_fresh(session, ReceiptBlock, block.id)


def give_back(
    session: Session, *, device: Device, block: ReceiptBlock, from_seq: int, reason: str
) -> int:
    """The device returns the numbers of its block it never printed (from `from_seq` on)."""
    reason = _reason(reason)
    if block.device_id != device.id:
        raise ValidationFailed({"block_id": [str(_l("This block is not this device's."))]})
    block = _lock(session, block)
    if not block.first_seq <= from_seq <= block.last_seq + 1:
        raise ValidationFailed(
            {"from_seq": [str(_l("Give a number of the block (or the one after its last)."))]}
        )
    seqs = _unused_from(session, block, from_seq)
    return _give_up(
        session,
        block,
        seqs,
        kind=UnusedKind.RETURNED,
        reason=reason,
        user_id=device.user_id,
        device_id=device.id,
    )


def void_number(session: Session, *, device: Device, seq: int, reason: str) -> UnusedReceipt:
    """The device voids one of its numbers: a receipt printed for a delivery the clerk
    discarded (refused by the server, say). The paper receipt is then void too. A number
    already returned or voided (a manager voided the block meanwhile) stays as it is."""
    reason = _reason(reason)
    centre = session.get(CollectionCentre, device.centre_id)
    assert centre is not None
    block = locked_block(session, device, seq) if seq >= 1 else None
    if block is not None:
        existing = _given_up(session, centre.id, seq)
        if existing is not None and existing.reclaimed_at is None:
            if _reclaimable(existing):
                # A manager voided it; the clerk now discards the delivery printed under
                # it: void for good, both reasons kept.
                existing.device_id = device.id
                existing.reason = f"{existing.reason} · {reason}"[:500]
                session.add(existing)
                session.flush()
            return existing
    block = claim(session, device=device, centre=centre, seq=seq)
    _give_up(
        session,
        block,
        [seq],
        kind=UnusedKind.VOIDED,
        reason=reason,
        user_id=device.user_id,
        device_id=device.id,
    )
    found = _given_up(session, centre.id, seq)
    assert found is not None
    return found


def void_block(
    session: Session, *, block: ReceiptBlock, reason: str, user_id: uuid.UUID | None
) -> int:
    """A manager voids every number a block still holds (a lost or retired device)."""
    reason = _reason(reason)
    block = _lock(session, block)
    if block.closed_at is not None:
        raise Conflict(_l("Every number of this block is already accounted for."))
    seqs = _unused_from(session, block, block.first_seq)
    return _give_up(
        session,
        block,
        seqs,
        kind=UnusedKind.VOIDED,
        reason=reason,
        user_id=user_id,
        device_id=None,
    )


def issued_to(session: Session, block: ReceiptBlock) -> uuid.UUID:
    """The device a block was issued to: the one that printed its numbers. A device that
    takes a block over only sends what that one printed (the phone never prints from a
    block it took over)."""
    first = session.exec(
        select(BlockTakeover.from_device_id)
        .where(BlockTakeover.block_id == block.id)
        .order_by(col(BlockTakeover.created_at))
    ).first()
    return first or block.device_id


def printed_by(session: Session, block: ReceiptBlock, device: Device) -> uuid.UUID | None:
    """The person who enrolled the device that printed the block's numbers, when that is
    not `device` (a block it took over); None when it is."""
    printer = issued_to(session, block)
    if printer == device.id:
        return None
    return session.exec(select(Device.user_id).where(Device.id == printer)).one()


def close_if_done(session: Session, block: ReceiptBlock) -> None:
    """Close a block once every number of it is used, returned or voided."""
    if block.closed_at is None and usage(session, [block])[block.id].held == 0:
        block.closed_at = utcnow()
        session.add(block)
        session.flush()


# -- the auditor's account of every number ---------------------------------------------------


@dataclass
class CentreAccount:
    """Every number a centre has issued (1 up to its counter), accounted for."""

    centre: CollectionCentre
    online: int = 0  # numbers on deliveries stored online (not from a block)
    blocks: list[Usage] = field(default_factory=list)
    devices: dict[uuid.UUID, Device] = field(default_factory=dict)
    unused: list[UnusedReceipt] = field(default_factory=list)

    @property
    def issued(self) -> int:
        """Numbers the centre has issued: 1 up to its counter."""
        return self.centre.last_receipt_seq

    @property
    def in_blocks(self) -> int:
        """Numbers issued to devices in blocks."""
        return sum(u.size for u in self.blocks)

    @property
    def unexplained(self) -> int:
        """Numbers neither on an online delivery nor in a block: always 0, or the books
        do not balance."""
        return self.issued - self.online - self.in_blocks


def account(session: Session, coop: Cooperative) -> list[CentreAccount]:
    """Per centre: online numbers, each block with its usage and device, every number
    returned or voided with its reason."""
    result = []
    for centre in deliveries.centres(session, coop):
        blocks = list(
            session.exec(
                select(ReceiptBlock)
                .where(ReceiptBlock.centre_id == centre.id)
                .order_by(col(ReceiptBlock.first_seq))
            ).all()
        )
        counted = usage(session, blocks)
        on_deliveries = session.exec(
            select(func.count()).select_from(Delivery).where(Delivery.centre_id == centre.id)
        ).one()
        in_blocks_used = sum(u.used for u in counted.values())
        device_ids = {b.device_id for b in blocks}
        found = CentreAccount(
            centre=centre,
            online=int(on_deliveries) - in_blocks_used,
            blocks=[counted[b.id] for b in blocks],
            devices={
                d.id: d
                for d in session.exec(
                    select(Device).where(Device.id.in_(device_ids))  # type: ignore[attr-defined]
                ).all()
            }
            if device_ids
            else {},
            unused=list(
                session.exec(
                    select(UnusedReceipt)
                    .where(UnusedReceipt.centre_id == centre.id)
                    .order_by(col(UnusedReceipt.seq))
                ).all()
            ),
        )
        result.append(found)
    return result
