"""The records behind a lot's or a shipment's EPCIS events, read once for the document.

`documents/epcis.py` turns these facts into EPCIS 2.0 JSON-LD and runs no query: here are
the lot's ancestry (genealogy), every output of each operation (a split's other parts
too), the deliveries with the moment each was weighed, their centres, the processing
sites, the shipments and their lots, the claims and what was true when.

The moment of a weighing is known only for one recorded at the scale online. An imported
row has only its date; so does a delivery a device kept in its outbox and synced later
(its receipt number is in one of the device's blocks): the server learned of it when it
synced, which is not when it was weighed.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlmodel import Session, select

from ..models import (
    CollectionCentre,
    Cooperative,
    Delivery,
    Lot,
    LotInput,
    LotOperation,
    ProcessingSite,
    ReceiptBlock,
    Shipment,
    ShipmentLot,
)
from ..models.base import local_moment
from . import claim_text, genealogy, vocabulary
from .bulk import chunks


@dataclass
class EventFacts:
    """What an EPCIS document tells, as records."""

    coop: Cooperative
    lots: dict[uuid.UUID, Lot]
    operations: dict[uuid.UUID, LotOperation]
    history: set[uuid.UUID]  # the lots asked for and their ancestors
    edges: list[LotInput]
    deliveries: dict[uuid.UUID, Delivery]
    weighed: dict[uuid.UUID, datetime | None]
    centres: dict[uuid.UUID, CollectionCentre]
    sites: dict[uuid.UUID, ProcessingSite]
    shipments: Sequence[Shipment]
    shipped: dict[uuid.UUID, list[ShipmentLot]]
    claims: dict[uuid.UUID, list[Any]]
    qualified: dict[uuid.UUID, dict[uuid.UUID, claim_text.Qualification]]
    # A voided delivery (only in a voided operation's history) -> the delivery that
    # corrected it, when one did: its commissioning is declared an error.
    corrections: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


def _fetch(session: Session, model: type, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    wanted = sorted(set(ids))
    found: dict[uuid.UUID, Any] = {}
    for chunk in chunks(wanted):
        rows: Iterable[Any] = session.exec(select(model).where(model.id.in_(chunk)))  # type: ignore[attr-defined]
        for row in rows:
            found[row.id] = row
    return found


def _weighed(
    session: Session, deliveries: dict[uuid.UUID, Delivery]
) -> dict[uuid.UUID, datetime | None]:
    """When each delivery was weighed, as far as the records know: a correction keeps the
    moment of the delivery it replaces; the moment a device sent (`weighed_at`) stands;
    an imported row has only its date (None)."""
    first: dict[uuid.UUID, Delivery] = {i: d for i, d in deliveries.items()}
    known: dict[uuid.UUID, Delivery] = dict(deliveries)
    while pending := {d.replaces_id for d in first.values() if d.replaces_id} - set(known):
        known.update(_fetch(session, Delivery, pending))
    for key, delivery in first.items():
        seen = {key}
        while delivery.replaces_id in known and delivery.replaces_id not in seen:
            seen.add(delivery.replaces_id)
            delivery = known[delivery.replaces_id]
        first[key] = delivery
    synced = _synced(session, first.values())
    return {i: _moment(d, d.id in synced) for i, d in first.items()}


def _moment(delivery: Delivery, synced: bool) -> datetime | None:
    if delivery.import_id is not None:
        return None
    if delivery.weighed_at is not None:
        return delivery.weighed_at
    return _sync_bound(delivery) if synced else delivery.created_at


# The time of day an EPCIS event known only by its date is given (documents/epcis.py).
_NOON = time(12, 0)


def _sync_bound(delivery: Delivery) -> datetime | None:
    """A delivery synced from a device's outbox: timed by its date alone (None), unless
    it reached the server before noon of its own day: it was weighed before then, so the
    sync is the latest moment that can be true."""
    moment = local_moment(delivery.created_at)
    if moment.date() == delivery.delivered_on and moment.time() < _NOON:
        return delivery.created_at
    return None


def _synced(session: Session, deliveries: Iterable[Delivery]) -> set[uuid.UUID]:
    """The deliveries recorded through a device: their receipt number lies in a block of
    numbers their centre issued to a device (an online delivery never takes one)."""
    by_centre: dict[uuid.UUID, list[Delivery]] = {}
    for delivery in deliveries:
        by_centre.setdefault(delivery.centre_id, []).append(delivery)
    blocks: dict[uuid.UUID, list[tuple[int, int]]] = {}
    for chunk in chunks(sorted(by_centre)):
        for centre_id, first, last in session.execute(
            select(ReceiptBlock.centre_id, ReceiptBlock.first_seq, ReceiptBlock.last_seq).where(
                ReceiptBlock.centre_id.in_(chunk)  # type: ignore[attr-defined]
            )
        ):
            blocks.setdefault(centre_id, []).append((first, last))
    synced: set[uuid.UUID] = set()
    for centre_id, found in by_centre.items():
        ranges = sorted(blocks.get(centre_id, ()))  # a centre's blocks never overlap
        starts = [lo for lo, _hi in ranges]
        for d in found:
            at = bisect_right(starts, d.receipt_seq) - 1
            if at >= 0 and d.receipt_seq <= ranges[at][1]:
                synced.add(d.id)
    return synced


def _corrections(session: Session, voided: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The delivery that corrected each of these voided ones, where one did."""
    found: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in chunks(sorted(voided)):
        query = select(Delivery.replaces_id, Delivery.id).where(Delivery.replaces_id.in_(chunk))  # type: ignore[union-attr]
        found.update({old: new for old, new in session.execute(query) if old is not None})
    return found


def for_lot(session: Session, lot: Lot) -> EventFacts:
    """The lot's history up to now: where its kilos came from and where it was shipped. A
    shipment voided since is there too: its event is declared an error (did not occur),
    so a buyer's system that recorded it is told; so is the operation of a voided lot."""
    shipments = [
        shipment
        for shipment in session.exec(
            select(Shipment)
            .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id)  # type: ignore[arg-type]
            .where(ShipmentLot.lot_id == lot.id)
        )
    ]
    return _facts(session, lot.cooperative_id, [lot.id], shipments)


def for_shipment(session: Session, shipment: Shipment) -> EventFacts:
    """The shipment and the history of every lot in it. A voided shipment's shipping event
    never happened: the document declares it an error (EPCIS 2.0 errorDeclaration), with
    the same eventID a buyer's system may already hold."""
    lot_ids = list(
        session.exec(select(ShipmentLot.lot_id).where(ShipmentLot.shipment_id == shipment.id))
    )
    return _facts(session, shipment.cooperative_id, lot_ids, [shipment])


def _edges_and_outputs(
    session: Session, operation_ids: Sequence[uuid.UUID], lots: dict[uuid.UUID, Lot]
) -> list[LotInput]:
    """The operations' inputs; every output of each operation (a split's other parts too)
    goes into `lots`."""
    edges: list[LotInput] = []
    for chunk in chunks(operation_ids):
        edges.extend(session.exec(select(LotInput).where(LotInput.operation_id.in_(chunk))))  # type: ignore[attr-defined]
        for made in session.exec(select(Lot).where(Lot.operation_id.in_(chunk))):  # type: ignore[attr-defined]
            lots[made.id] = made
    return edges


def _facts(
    session: Session,
    cooperative_id: uuid.UUID,
    lot_ids: Sequence[uuid.UUID],
    shipments: Sequence[Shipment],
) -> EventFacts:
    coop = session.get(Cooperative, cooperative_id)
    assert coop is not None
    lots: dict[uuid.UUID, Lot] = {}
    operations: dict[uuid.UUID, LotOperation] = {}
    history: set[uuid.UUID] = set()
    edges: list[LotInput] = []
    wanted, read = list(lot_ids), set[uuid.UUID]()
    while wanted:
        for lot_id in wanted:
            graph = genealogy.graph(session, lot_id, forward_too=False)
            lots.update(graph.lots)
            operations.update(graph.operations)
            history |= graph.up | {lot_id}
        found = _edges_and_outputs(session, sorted(set(operations) - read), lots)
        read |= set(operations)
        edges.extend(found)
        # A voided lot's operation never happened, but a buyer's system may hold its event:
        # it is declared an error, beside the history of the lots it took (live again).
        wanted = sorted(
            {
                edge.source_lot_id
                for edge in found
                if edge.source_lot_id is not None
                and operations[edge.operation_id].voided_at is not None
            }
            - history
        )
    deliveries = _fetch(
        session, Delivery, (e.source_delivery_id for e in edges if e.source_delivery_id)
    )
    weighed = _weighed(session, deliveries)
    corrections = _corrections(session, [d.id for d in deliveries.values() if d.voided_at])
    centres = _fetch(session, CollectionCentre, (d.centre_id for d in deliveries.values()))
    sites = _fetch(
        session, ProcessingSite, (op.site_id for op in operations.values() if op.site_id)
    )
    shipped = {
        s.id: list(session.exec(select(ShipmentLot).where(ShipmentLot.shipment_id == s.id)))
        for s in shipments
    }
    for links in shipped.values():
        missing = [link.lot_id for link in links if link.lot_id not in lots]
        lots.update(_fetch(session, Lot, missing))
    claims, qualified = claim_text.claims_qualified(
        session, list(lots.values()), today=vocabulary.local_today()
    )
    return EventFacts(
        coop=coop,
        lots=lots,
        operations=operations,
        history=history,
        edges=edges,
        deliveries=deliveries,
        weighed=weighed,
        centres=centres,
        sites=sites,
        shipments=shipments,
        shipped=shipped,
        claims=claims,
        qualified=qualified,
        corrections=corrections,
    )
