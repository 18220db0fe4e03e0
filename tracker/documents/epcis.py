"""EPCIS 2.0 JSON-LD: the events behind a lot or a shipment, for a buyer's systems.

Deliveries are commissioning ObjectEvents (action ADD), lot operations (gathering,
merge, split, processing) TransformationEvents, shipments shipping ObjectEvents.
Quantities are in KGM; bizStep and disposition are CBV URIs; lots are classes named by
their GS1 Digital Link (`https://id.gs1.org/01/{GTIN}/10/{lot}`) or, without a GTIN, a URI
under the cooperative's public host. certificationInfo lists the public pages of the
certificates behind the claims. Nothing about a family is exported: no name, national
ID or phone, not even its id; a delivery is named by its receipt number and its plot.
See ../shared/standards/README.md; tests validate every document against GS1's schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
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
    Shipment,
    ShipmentLot,
    utcnow,
)
from ..services import certificates as certificates_service
from ..services import claim_text, genealogy, gs1
from ..services.lots import claims_for

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CBV = "https://ref.gs1.org/cbv/"
PERU = timezone(timedelta(hours=-5))
OFFSET = "-05:00"
MEDIA_TYPE = "application/ld+json"
_CHUNK = 900


class _Names:
    """URIs for the cooperative's things, under its public host."""

    def __init__(self, base: str, coop: Cooperative) -> None:
        self.base = base.rstrip("/")
        self.root = f"{self.base}/id/{gs1.encode_ai(coop.code)}"

    def lot(self, lot: Lot) -> str:
        if lot.gtin and gs1.is_valid_gtin(lot.gtin) and gs1.is_valid_lot(lot.code):
            return gs1.digital_link(lot.gtin, lot.code)
        return f"{self.root}/lot/{gs1.encode_ai(lot.code)}"

    def delivery(self, delivery: Delivery) -> str:
        return f"{self.root}/delivery/{gs1.encode_ai(delivery.receipt_number)}"

    def thing(self, kind: str, key: str) -> str:
        return f"{self.root}/{kind}/{gs1.encode_ai(key)}"

    def certificate(self, certificate_id: uuid.UUID) -> str:
        return f"{self.base}/cert/{certificate_id}"


def _at(day: date, stamp: datetime) -> str:
    """The event's date with the time of day it was recorded, in Peru's offset."""
    moment = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    clock = moment.astimezone(PERU).time().replace(microsecond=0)
    return datetime.combine(day, clock, PERU).isoformat()


def _kg(grams: int) -> float:
    return round(grams / 1000, 3)


def _quantity(epc_class: str, grams: int) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": _kg(grams), "uom": "KGM"}


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _fetch(session: Session, model: type, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    wanted = sorted(set(ids))
    found: dict[uuid.UUID, Any] = {}
    for chunk in _chunks(wanted):
        for row in session.exec(select(model).where(model.id.in_(chunk))):  # type: ignore[attr-defined]
            found[row.id] = row
    return found


def lot_document(session: Session, lot: Lot, base: str) -> dict[str, Any]:
    """The lot's history up to now: where its kilos came from and where it was shipped."""
    shipments = [
        shipment
        for shipment in session.exec(
            select(Shipment)
            .join(ShipmentLot, ShipmentLot.shipment_id == Shipment.id)  # type: ignore[arg-type]
            .where(ShipmentLot.lot_id == lot.id, Shipment.voided_at.is_(None))  # type: ignore[union-attr]
        )
    ]
    return _document(session, lot.cooperative_id, [lot.id], shipments, base)


def shipment_document(session: Session, shipment: Shipment, base: str) -> dict[str, Any]:
    """The shipment and the history of every lot in it."""
    lot_ids = list(
        session.exec(select(ShipmentLot.lot_id).where(ShipmentLot.shipment_id == shipment.id))
    )
    return _document(session, shipment.cooperative_id, lot_ids, [shipment], base)


def _document(
    session: Session,
    cooperative_id: uuid.UUID,
    lot_ids: Sequence[uuid.UUID],
    shipments: Sequence[Shipment],
    base: str,
) -> dict[str, Any]:
    coop = session.get(Cooperative, cooperative_id)
    assert coop is not None
    names = _Names(base, coop)
    lots: dict[uuid.UUID, Lot] = {}
    operations: dict[uuid.UUID, LotOperation] = {}
    for lot_id in lot_ids:
        graph = genealogy.graph(session, lot_id, forward_too=False)
        lots.update(graph.lots)
        operations.update(graph.operations)
    op_ids = sorted(operations)
    edges: list[LotInput] = []
    for chunk in _chunks(op_ids):
        edges.extend(session.exec(select(LotInput).where(LotInput.operation_id.in_(chunk))))  # type: ignore[attr-defined]
        # Every output of each operation (a split's other parts too).
        for made in session.exec(select(Lot).where(Lot.operation_id.in_(chunk))):  # type: ignore[attr-defined]
            lots[made.id] = made
    deliveries = _fetch(
        session, Delivery, (e.source_delivery_id for e in edges if e.source_delivery_id)
    )
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
    claims = claims_for(session, list(lots.values()))
    qualified = claim_text.lot_qualifications(
        session, list(lots.values()), claims, today=certificates_service.today()
    )
    # Ordered by day, then deliveries before operations before shipments, then by the
    # moment each was recorded (to the microsecond: two operations of one day keep their order).
    events: list[tuple[str, int, str, dict[str, Any]]] = []
    for delivery in deliveries.values():
        events.append(
            (
                delivery.delivered_on.isoformat(),
                0,
                delivery.created_at.isoformat(),
                _commissioning(names, delivery, centres),
            )
        )
    by_op: dict[uuid.UUID, list[LotInput]] = {}
    for edge in edges:
        by_op.setdefault(edge.operation_id, []).append(edge)
    outputs: dict[uuid.UUID, list[Lot]] = {}
    for lot in lots.values():
        outputs.setdefault(lot.operation_id, []).append(lot)
    for op_id in op_ids:
        op = operations[op_id]
        event = _transformation(
            names, op, by_op.get(op_id, []), outputs.get(op_id, []), lots, deliveries, sites, claims
        )
        events.append((op.occurred_on.isoformat(), 1, op.created_at.isoformat(), event))
    for shipment in shipments:
        events.append(
            (
                shipment.shipped_on.isoformat(),
                2,
                shipment.created_at.isoformat(),
                _shipping(names, coop, shipment, shipped[shipment.id], lots, claims),
            )
        )
    events.sort(key=lambda item: (item[0], item[1], item[2], item[3]["eventID"]))
    _qualify([event for _d, _o, _t, event in events], names, lots, qualified)
    return {
        "@context": [CONTEXT, {"tracker": f"{names.base}/ns/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utcnow().isoformat(timespec="seconds"),
        "epcisBody": {"eventList": [event for _d, _o, _t, event in events]},
    }


def _commissioning(
    names: _Names, delivery: Delivery, centres: dict[uuid.UUID, CollectionCentre]
) -> dict[str, Any]:
    centre = centres[delivery.centre_id]
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{delivery.id}",
        "eventTime": _at(delivery.delivered_on, delivery.created_at),
        "eventTimeZoneOffset": OFFSET,
        "action": "ADD",
        "bizStep": f"{CBV}BizStep-commissioning",
        "disposition": f"{CBV}Disp-active",
        "readPoint": {"id": names.thing("centre", centre.code)},
        "quantityList": [_quantity(names.delivery(delivery), delivery.net_g)],
        "ilmd": {
            "tracker:crop": delivery.crop,
            "tracker:form": delivery.form,
            "tracker:receiptNumber": delivery.receipt_number,
            "tracker:plot": names.thing("plot", str(delivery.plot_id)),
        },
    }


def _certification(
    names: _Names,
    lots: Iterable[Lot],
    claims: dict[uuid.UUID, list],  # type: ignore[type-arg]
) -> list[str]:
    ids = sorted(
        {c for lot in lots for claim in claims.get(lot.id, []) for c in claim.certificate_ids},
        key=str,
    )
    return [names.certificate(c) for c in ids]


def _qualify(
    events: list[dict[str, Any]],
    names: _Names,
    lots: dict[uuid.UUID, Lot],
    qualified: dict[uuid.UUID, dict[uuid.UUID, claim_text.Qualification]],
) -> None:
    """Beside certificationInfo, what was true when (`tracker:certificates`): for each lot
    of the event and each certificate behind its claims, whether it was in force on the
    dates the claim rests on, its status today and since when, and the sentence the public
    page shows (language-tagged)."""
    by_class = {names.lot(lot): lot.id for lot in lots.values()}
    for event in events:
        if "certificationInfo" not in event:
            continue
        entries = []
        for key in ("outputQuantityList", "quantityList"):
            for quantity in event.get(key, []):
                found = qualified.get(by_class.get(quantity["epcClass"]), {})  # type: ignore[arg-type]
                for cert_id, q in sorted(found.items(), key=lambda item: str(item[0])):
                    entries.append(_qualification(names, quantity["epcClass"], cert_id, q))
        if entries:
            event["tracker:certificates"] = entries


def _qualification(
    names: _Names, epc_class: str, cert_id: uuid.UUID, q: claim_text.Qualification
) -> dict[str, Any]:
    """One entry of `tracker:certificates`, in the tracker's namespace (JSON-LD)."""
    entry: dict[str, Any] = {
        "tracker:lot": epc_class,
        "tracker:certificate": names.certificate(cert_id),
        "tracker:claimRestsOn": q.rests_on,
        "tracker:heldOnDates": q.held,
        "tracker:status": q.status,
        "tracker:qualification": [
            {"@value": text, "@language": locale} for locale, text in q.texts().items()
        ],
    }
    if q.first_on and q.last_on:
        entry["tracker:datesFrom"] = q.first_on.isoformat()
        entry["tracker:datesTo"] = q.last_on.isoformat()
    if q.since:
        entry["tracker:statusSince"] = q.since.isoformat()
    return entry


def _transformation(
    names: _Names,
    op: LotOperation,
    edges: list[LotInput],
    made: list[Lot],
    lots: dict[uuid.UUID, Lot],
    deliveries: dict[uuid.UUID, Delivery],
    sites: dict[uuid.UUID, ProcessingSite],
    claims: dict[uuid.UUID, list],  # type: ignore[type-arg]
) -> dict[str, Any]:
    inputs: dict[str, int] = {}
    for edge in sorted(edges, key=lambda e: str(e.source_delivery_id or e.source_lot_id)):
        if edge.source_delivery_id is not None:
            key = names.delivery(deliveries[edge.source_delivery_id])
        else:
            key = names.lot(lots[edge.source_lot_id])  # type: ignore[index]
        inputs[key] = inputs.get(key, 0) + edge.grams
    made = sorted(made, key=lambda lot: lot.code)
    event: dict[str, Any] = {
        "type": "TransformationEvent",
        "eventID": f"urn:uuid:{op.id}",
        "eventTime": _at(op.occurred_on, op.created_at),
        "eventTimeZoneOffset": OFFSET,
        "transformationID": f"urn:uuid:{op.id}",
        "inputQuantityList": [_quantity(k, g) for k, g in inputs.items()],
        "outputQuantityList": [_quantity(names.lot(lot), lot.weight_g) for lot in made],
        "bizStep": f"{CBV}BizStep-commissioning",
        "disposition": f"{CBV}Disp-in_progress",
        "ilmd": {
            "tracker:operation": op.kind,
            "tracker:lossKg": _kg(op.loss_g),
            "tracker:lots": [
                {"tracker:code": lot.code, "tracker:form": lot.form, "tracker:crop": lot.crop}
                for lot in made
            ],
        },
    }
    if op.process:
        event["ilmd"]["tracker:process"] = op.process
    if op.site_id and op.site_id in sites:
        event["bizLocation"] = {"id": names.thing("site", sites[op.site_id].code)}
    certificates = _certification(names, made, claims)
    if certificates:
        event["certificationInfo"] = certificates
    return event


def _shipping(
    names: _Names,
    coop: Cooperative,
    shipment: Shipment,
    links: list[ShipmentLot],
    lots: dict[uuid.UUID, Lot],
    claims: dict[uuid.UUID, list],  # type: ignore[type-arg]
) -> dict[str, Any]:
    shipped = sorted(((lots[link.lot_id], link.grams) for link in links), key=lambda x: x[0].code)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{shipment.id}",
        "eventTime": _at(shipment.shipped_on, shipment.created_at),
        "eventTimeZoneOffset": OFFSET,
        "action": "OBSERVE",
        "bizStep": f"{CBV}BizStep-shipping",
        "disposition": f"{CBV}Disp-in_transit",
        "quantityList": [_quantity(names.lot(lot), grams) for lot, grams in shipped],
        "sourceList": [{"type": f"{CBV}SDT-owning_party", "source": names.root}],
        "tracker:buyerName": shipment.buyer_name,
        "tracker:buyerCountry": shipment.buyer_country,
    }
    if shipment.contract:
        event["bizTransactionList"] = [
            {"type": f"{CBV}BTT-po", "bizTransaction": names.thing("contract", shipment.contract)}
        ]
    if shipment.container:
        event["tracker:container"] = shipment.container
    certificates = _certification(names, [lot for lot, _g in shipped], claims)
    if certificates:
        event["certificationInfo"] = certificates
    return event


__all__ = ["MEDIA_TYPE", "lot_document", "shipment_document"]
