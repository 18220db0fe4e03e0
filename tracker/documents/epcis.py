"""EPCIS 2.0 JSON-LD: the events behind a lot or a shipment, for a buyer's systems.

Deliveries are commissioning ObjectEvents (action ADD), lot operations (gathering,
merge, split, processing) TransformationEvents, shipments shipping ObjectEvents with the
cooperative as source and the buyer as destination (owning parties). Quantities are in
KGM; bizStep and disposition are CBV URIs. certificationInfo applies to every object of
an event, so it lists the public pages of the certificates behind the claims of every
lot the event makes or ships (none when one of them carries none);
`tracker:certificates` says, lot by lot, which certificate backs which claim, on what
basis (segregated or mass balance) and what was true when.

Every identifier either resolves or is a URN (docs/standards.md), except a lot with a
GTIN, named by its GS1 Digital Link on id.gs1.org (`https://id.gs1.org/01/{GTIN}/10/
{lot}`), the same whether or not its labels were printed; everything else (lots without
a GTIN, deliveries, centres, sites, plots, parties, events) by a `urn:uuid:` derived from
the cooperative and the record, stable from one export to the next and revealing no
internal id. A shipment's contract is the buyer's purchase order (bizTransaction, CBV
BTT-po): `{host}/ns/epcis#po/{buyer}/{number}`, the number as recorded. The header's
master data names the parties and places. The `tracker:` terms are described at
`{host}/ns/epcis`.

eventTime is when it happened: a delivery's weighing (when it was recorded at the scale
on its day), an operation or shipment when recorded on its day; an imported row, or one
entered on a later day, has only a date and gets 12:00 Peru time (-05:00) on that date,
or the time of its latest input of that day when later: an event never comes before
the weighings and lots it took.

A delivery voided since (it is only in a voided operation's history) is declared an
error too: did_not_occur, or incorrect_data naming its correction's event.

Nothing about a family is exported: no name, national ID or phone, not even its id. The
`public` audience (the document a published lot links as gs1:traceability) also leaves
out receipt numbers, plots, the buyer's name, contract and container, and names lots
outside the lot's own history (a split's other part) by an opaque URN, without a code
or anything about their claims.
See ../shared/standards/README.md; tests validate every document against GS1's schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any, Literal
from urllib.parse import quote

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

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
from ..models.base import COOPERATIVE_TZ, local_moment
from ..services import claim_text, epcis_facts, gs1
from ..services.links import certificate_page
from ..services.vocabulary import PUBLIC_BASIS_LABELS

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CBV = "https://ref.gs1.org/cbv/"
OFFSET = "-05:00"
MEDIA_TYPE = "application/ld+json"
# The time of day given to an event known only by its date (docs/standards.md).
DATE_ONLY_AT = time(12, 0)
VOCABULARY_PATH = "/ns/epcis"
PARTY = "urn:epcglobal:epcis:vtype:Party"
LOCATION = "urn:epcglobal:epcis:vtype:Location"
MDA = "urn:epcglobal:cbv:mda#"
MASS_BALANCE = "mass_balance"

Audience = Literal["member", "public"]
Claims = dict[uuid.UUID, list[Any]]


class _Names:
    """Identifiers for the cooperative's things: resolvable URLs or stable URNs."""

    def __init__(self, base: str, coop: Cooperative) -> None:
        self.base = base.rstrip("/")
        self.coop = coop
        # Lots named only by an opaque URN (in a public document: those outside the
        # history asked for, like a split's other part, whose code is not public).
        self.opaque: set[uuid.UUID] = set()

    def urn(self, kind: str, key: object) -> str:
        """A stable name for a record that has no public page: never its internal id."""
        return f"urn:uuid:{uuid.uuid5(self.coop.id, f'{kind}/{key}')}"

    def lot(self, lot: Lot) -> str:
        """A lot with a GTIN: its Digital Link on id.gs1.org, published or not; else a URN."""
        if lot.id in self.opaque:
            return self.urn("lot", lot.id)
        if lot.gtin and gs1.is_valid_gtin(lot.gtin) and gs1.is_valid_lot(lot.code):
            return gs1.digital_link(lot.gtin, lot.code)
        return self.urn("lot", lot.id)

    def delivery(self, delivery: Delivery) -> str:
        return self.urn("delivery", delivery.id)

    def thing(self, kind: str, key: str) -> str:
        return self.urn(kind, key)

    def party(self) -> str:
        return self.urn("party", "cooperative")

    def buyer(self, shipment: Shipment) -> str:
        name = " ".join(shipment.buyer_name.casefold().split())
        return self.urn("buyer", f"{shipment.buyer_country}/{name}")

    def order(self, shipment: Shipment) -> str:
        """The buyer's purchase order, its number as recorded, under the buyer's party."""
        party = self.buyer(shipment).rpartition(":")[2]
        number = quote(shipment.contract, safe="-._~")
        return f"{self.base}{VOCABULARY_PATH}#po/{party}/{number}"

    def event(self, kind: str, record_id: uuid.UUID) -> str:
        return self.urn(f"event/{kind}", record_id)

    def certificate(self, certificate_id: uuid.UUID) -> str:
        return certificate_page(self.base, certificate_id)


def _when(day: date, stamp: datetime | None) -> datetime:
    """The recorded moment if recorded on its own day (Peru time), else DATE_ONLY_AT."""
    if stamp is not None:
        moment = local_moment(stamp)
        if moment.date() == day:
            return moment.replace(microsecond=0)
    return datetime.combine(day, DATE_ONLY_AT, COOPERATIVE_TZ)


def _after(moment: datetime, inputs: Iterable[datetime | None]) -> datetime:
    """Never before what it took on the same day (12:00 before a 15:00 weighing)."""
    same_day = [m for m in inputs if m is not None and m.date() == moment.date()]
    return max([moment, *same_day])


def _timeline(facts: epcis_facts.EventFacts) -> dict[uuid.UUID, datetime]:
    """The moment of every delivery, operation and shipment, by id (operations in the
    order recorded)."""
    times = {d.id: _when(d.delivered_on, facts.weighed[d.id]) for d in facts.deliveries.values()}
    sources: dict[uuid.UUID, list[uuid.UUID]] = {}
    for edge in facts.edges:
        source = edge.source_delivery_id
        if source is None and edge.source_lot_id in facts.lots:
            source = facts.lots[edge.source_lot_id].operation_id
        if source is not None:
            sources.setdefault(edge.operation_id, []).append(source)
    for op in sorted(facts.operations.values(), key=lambda o: (local_moment(o.created_at), o.id)):
        own = _when(op.occurred_on, op.created_at)
        times[op.id] = _after(own, (times.get(s) for s in sources.get(op.id, [])))
    for shipment in facts.shipments:
        made = (
            times.get(facts.lots[link.lot_id].operation_id)
            for link in facts.shipped[shipment.id]
            if link.lot_id in facts.lots
        )
        times[shipment.id] = _after(_when(shipment.shipped_on, shipment.created_at), made)
    return times


def _kg(grams: int) -> float:
    return round(grams / 1000, 3)


def _quantity(epc_class: str, grams: int) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": _kg(grams), "uom": "KGM"}


def lot_document(
    facts: epcis_facts.EventFacts, base: str, *, audience: Audience = "member"
) -> dict[str, Any]:
    """The lot's history up to now (`epcis_facts.for_lot`): where its kilos came from and
    where it was shipped."""
    return _document(facts, base, audience=audience)


def shipment_document(facts: epcis_facts.EventFacts, base: str) -> dict[str, Any]:
    """The shipment and the history of every lot in it (`epcis_facts.for_shipment`)."""
    return _document(facts, base, audience="member")


def _events(
    facts: epcis_facts.EventFacts, names: _Names, named: set[uuid.UUID], *, public: bool
) -> list[dict[str, Any]]:
    """By day, then deliveries, operations, shipments, then by the moment each was
    recorded (to the microsecond: two operations of one day keep their order)."""
    lots, claims, times = facts.lots, facts.claims, _timeline(facts)
    events: list[tuple[str, int, str, dict[str, Any]]] = []
    for d in facts.deliveries.values():
        event = _commissioning(names, d, times[d.id], facts.centres, public=public)
        if d.voided_at is not None:  # only in a voided operation's history
            fixed = facts.corrections.get(d.id)
            event["errorDeclaration"] = _error_declaration(
                d, public=public, corrected_by=names.event("delivery", fixed) if fixed else None
            )
        events.append((d.delivered_on.isoformat(), 0, d.created_at.isoformat(), event))
    by_op: dict[uuid.UUID, list[LotInput]] = {}
    for edge in facts.edges:
        by_op.setdefault(edge.operation_id, []).append(edge)
    outputs: dict[uuid.UUID, list[Lot]] = {}
    for lot in lots.values():
        outputs.setdefault(lot.operation_id, []).append(lot)
    for op_id in sorted(facts.operations):
        op = facts.operations[op_id]
        event = _transformation(
            names,
            op,
            times[op_id],
            by_op.get(op_id, []),
            outputs.get(op_id, []),
            facts,
            named=named,
            public=public,
        )
        events.append((op.occurred_on.isoformat(), 1, op.created_at.isoformat(), event))
    for s in facts.shipments:
        links = facts.shipped[s.id]
        event = _shipping(names, s, times[s.id], links, lots, claims, public=public)
        events.append((s.shipped_on.isoformat(), 2, s.created_at.isoformat(), event))
    events.sort(key=lambda item: (item[0], item[1], item[2], item[3]["eventID"]))
    return [event for _d, _o, _t, event in events]


def _document(facts: epcis_facts.EventFacts, base: str, *, audience: Audience) -> dict[str, Any]:
    coop = facts.coop
    names = _Names(base, coop)
    public = audience == "public"
    history = set(facts.history)
    if public:
        names.opaque = set(facts.lots) - history
    else:
        history |= {link.lot_id for links in facts.shipped.values() for link in links}
    events = _events(facts, names, history, public=public)
    _qualify(events, names, facts.lots, facts.claims, facts.qualified)
    return {
        "@context": [CONTEXT, {"tracker": f"{names.base}{VOCABULARY_PATH}#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utcnow().isoformat(timespec="seconds"),
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": _master_data(
                    names,
                    coop,
                    facts.centres.values(),
                    facts.sites.values(),
                    facts.shipments,
                    public=public,
                )
            }
        },
        "epcisBody": {"eventList": events},
    }


def _element(uri: str, **attributes: str) -> dict[str, Any]:
    return {
        "id": uri,
        "attributes": [
            {"id": f"{MDA}{key}", "attribute": value} for key, value in attributes.items()
        ],
    }


def _master_data(
    names: _Names,
    coop: Cooperative,
    centres: Iterable[CollectionCentre],
    sites: Iterable[ProcessingSite],
    shipments: Sequence[Shipment],
    *,
    public: bool,
) -> list[dict[str, Any]]:
    """Who and where the URNs of the events are: the cooperative and the buyers (parties),
    the collection centres and processing sites (locations). The public document names no
    buyer."""
    parties = [_element(names.party(), name=coop.name, countryCode=coop.country)]
    buyers = {names.buyer(s): s for s in shipments}
    for uri, shipment in sorted(buyers.items()):
        if public:
            parties.append(_element(uri, countryCode=shipment.buyer_country))
        else:
            parties.append(
                _element(uri, name=shipment.buyer_name, countryCode=shipment.buyer_country)
            )
    places = [
        _element(names.thing("centre", c.code), name=c.name)
        for c in sorted(centres, key=lambda c: c.code)
    ] + [
        _element(names.thing("site", s.code), name=s.name)
        for s in sorted(sites, key=lambda s: s.code)
    ]
    vocabularies = [{"type": PARTY, "vocabularyElementList": parties}]
    if places:
        vocabularies.append({"type": LOCATION, "vocabularyElementList": places})
    return vocabularies


def _commissioning(
    names: _Names,
    delivery: Delivery,
    when: datetime,
    centres: dict[uuid.UUID, CollectionCentre],
    *,
    public: bool,
) -> dict[str, Any]:
    centre = centres[delivery.centre_id]
    ilmd: dict[str, Any] = {"tracker:crop": delivery.crop, "tracker:form": delivery.form}
    if not public:
        ilmd["tracker:receiptNumber"] = delivery.receipt_number
        ilmd["tracker:plot"] = names.thing("plot", str(delivery.plot_id))
    return {
        "type": "ObjectEvent",
        "eventID": names.event("delivery", delivery.id),
        "eventTime": when.isoformat(),
        "eventTimeZoneOffset": OFFSET,
        "action": "ADD",
        "bizStep": f"{CBV}BizStep-commissioning",
        "disposition": f"{CBV}Disp-active",
        "readPoint": {"id": names.thing("centre", centre.code)},
        "quantityList": [_quantity(names.delivery(delivery), delivery.net_g)],
        "ilmd": ilmd,
    }


def _certification(names: _Names, lots: Iterable[Lot], claims: Claims) -> list[str]:
    """certificationInfo applies to every object of the event: the certificates behind
    the claims held by all of its lots (the rest is in `tracker:certificates`)."""
    held = [{c for claim in claims.get(lot.id, []) for c in claim.certificate_ids} for lot in lots]
    common = set.intersection(*held) if held else set()
    return [names.certificate(c) for c in sorted(common, key=str)]


def _qualify(
    events: list[dict[str, Any]],
    names: _Names,
    lots: dict[uuid.UUID, Lot],
    claims: Claims,
    qualified: dict[uuid.UUID, dict[uuid.UUID, claim_text.Qualification]],
) -> None:
    """What was true when (`tracker:certificates`): for each lot an event makes or ships
    and each certificate behind its claims, the claim's basis, whether the certificate
    was in force on the dates the claim rests on, its status today and since when, and
    the sentence (language-tagged). Nothing about a lot a public document keeps opaque."""
    by_class = {names.lot(lot): lot.id for lot in lots.values() if lot.id not in names.opaque}
    basis = {
        (lot_id, cert_id): claim.basis
        for lot_id, found in claims.items()
        for claim in found
        for cert_id in claim.certificate_ids
    }
    for event in events:
        entries = []
        for key in ("outputQuantityList", "quantityList"):
            for quantity in event.get(key, []):
                lot_id = by_class.get(quantity["epcClass"])
                if lot_id is None:
                    continue
                found = qualified.get(lot_id, {})
                for cert_id, q in sorted(found.items(), key=lambda item: str(item[0])):
                    on = basis.get((lot_id, cert_id), "")
                    entries.append(_qualification(names, quantity["epcClass"], cert_id, q, on))
        if entries:
            event["tracker:certificates"] = entries


def _qualification(
    names: _Names, epc_class: str, cert_id: uuid.UUID, q: claim_text.Qualification, basis: str
) -> dict[str, Any]:
    """One entry of `tracker:certificates` (JSON-LD). A mass-balance claim rests on the
    ledger, not on the lot's kilos: no harvest dates, only the basis and the status."""
    entry: dict[str, Any] = {
        "tracker:lot": epc_class,
        "tracker:certificate": names.certificate(cert_id),
        "tracker:basis": basis,
    }
    if basis == MASS_BALANCE:
        texts = {locale: _mass_balance_text(q, locale) for locale in claim_text.LOCALES}
    else:
        texts = q.texts()
        entry["tracker:claimRestsOn"] = q.rests_on
        entry["tracker:heldOnDates"] = q.held
        if q.first_on and q.last_on:
            entry["tracker:datesFrom"] = q.first_on.isoformat()
            entry["tracker:datesTo"] = q.last_on.isoformat()
    entry["tracker:status"] = q.status
    if q.since:
        entry["tracker:statusSince"] = q.since.isoformat()
    entry["tracker:qualification"] = [
        {"@value": text, "@language": locale} for locale, text in texts.items()
    ]
    return entry


def _mass_balance_text(q: claim_text.Qualification, locale: str) -> str:
    """ "mass balance: ...; valid today", in `locale`."""
    now = claim_text.standing_text(q.status, q.since, locale)
    with force_locale(locale):
        then = str(PUBLIC_BASIS_LABELS[MASS_BALANCE])
        return str(_l("%(then)s; %(now)s", then=then, now=now))


def _transformation(
    names: _Names,
    op: LotOperation,
    when: datetime,
    edges: list[LotInput],
    made: list[Lot],
    facts: epcis_facts.EventFacts,
    *,
    named: set[uuid.UUID],
    public: bool,
) -> dict[str, Any]:
    """An operation; output codes only for lots in `named` (a split's other part: a URN)."""
    lots, deliveries = facts.lots, facts.deliveries
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
        "eventID": names.event("operation", op.id),
        "eventTime": when.isoformat(),
        "eventTimeZoneOffset": OFFSET,
        "transformationID": names.urn("transformation", op.id),
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
                if lot.id in named
            ],
        },
    }
    if op.process:
        event["ilmd"]["tracker:process"] = op.process
    if op.site_id and op.site_id in facts.sites:
        event["bizLocation"] = {"id": names.thing("site", facts.sites[op.site_id].code)}
    certificates = _certification(names, made, facts.claims)
    if certificates:
        event["certificationInfo"] = certificates
    if op.voided_at is not None:
        event["errorDeclaration"] = _error_declaration(op, public=public)
    return event


def _shipping(
    names: _Names,
    shipment: Shipment,
    when: datetime,
    links: list[ShipmentLot],
    lots: dict[uuid.UUID, Lot],
    claims: Claims,
    *,
    public: bool,
) -> dict[str, Any]:
    """The lots leave the cooperative (source) for the buyer (destination): owning parties."""
    shipped = sorted(((lots[link.lot_id], link.grams) for link in links), key=lambda x: x[0].code)
    owning = f"{CBV}SDT-owning_party"
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": names.event("shipment", shipment.id),
        "eventTime": when.isoformat(),
        "eventTimeZoneOffset": OFFSET,
        "action": "OBSERVE",
        "bizStep": f"{CBV}BizStep-shipping",
        "disposition": f"{CBV}Disp-in_transit",
        "quantityList": [_quantity(names.lot(lot), grams) for lot, grams in shipped],
        "sourceList": [{"type": owning, "source": names.party()}],
        "destinationList": [{"type": owning, "destination": names.buyer(shipment)}],
        "tracker:buyerCountry": shipment.buyer_country,
    }
    if not public:
        event["tracker:buyerName"] = shipment.buyer_name
        if shipment.contract:
            event["bizTransactionList"] = [
                {"type": f"{CBV}BTT-po", "bizTransaction": names.order(shipment)}
            ]
        if shipment.container:
            event["tracker:container"] = shipment.container
    certificates = _certification(names, [lot for lot, _g in shipped], claims)
    if certificates:
        event["certificationInfo"] = certificates
    if shipment.voided_at is not None:
        event["errorDeclaration"] = _error_declaration(shipment, public=public)
    return event


def _error_declaration(
    record: Shipment | LotOperation | Delivery, *, public: bool, corrected_by: str | None = None
) -> dict[str, Any]:
    """A voided record's event is the same event declared an error (EPCIS 2.0, 7.4.1.4),
    since the moment it was voided: it did not occur, or (a corrected delivery) its data
    was incorrect, with the correction's event; the manager's reason for members."""
    declaration: dict[str, Any] = {
        "declarationTime": local_moment(record.voided_at).isoformat(timespec="seconds"),
        "reason": "incorrect_data" if corrected_by else "did_not_occur",
    }
    if corrected_by:
        declaration["correctiveEventIDs"] = [corrected_by]
    if not public and record.void_reason:
        declaration["tracker:voidReason"] = record.void_reason
    return declaration


# The `tracker:` extension terms of the exports, described at {host}/ns/epcis.
TERMS = {
    "crop": _l("The crop: coffee or cacao."),
    "form": _l("The product form (cherry, dry parchment, green coffee, wet or dry beans...)."),
    "receiptNumber": _l("The number of the delivery's receipt at the collection centre."),
    "plot": _l("The plot the delivery was harvested on."),
    "operation": _l("What was done: create (gathered from deliveries), merge, split or process."),
    "process": _l("The process: drying, fermentation, hulling, sorting or roasting."),
    "lossKg": _l("Kilograms lost in the operation (water, husk, sorting)."),
    "lots": _l("The lots the operation made, with their code, crop and form."),
    "code": _l("The lot's code at the cooperative."),
    "buyerName": _l("The buyer's name."),
    "buyerCountry": _l("The buyer's country (ISO 3166-1 alpha-2)."),
    "container": _l("The shipping container's number."),
    "voidReason": _l("Why the cooperative voided the record the event declared an error."),
    "certificates": _l(
        "For each lot of the event and each certificate behind its claims: the basis and "
        "what was true when."
    ),
    "lot": _l("The lot (its identifier in the event) the entry is about."),
    "certificate": _l("The certificate's public page."),
    "basis": _l(
        "How the claim holds: segregated (every kilo from certified producers) or "
        "mass_balance (certified volume bought equals volume sold as certified, not these "
        "kilos themselves)."
    ),
    "claimRestsOn": _l(
        "The dates a segregated claim rests on: harvest (deliveries) or processing (at a "
        "site the certificate covers)."
    ),
    "heldOnDates": _l("Whether the certificate was in force on every one of those dates."),
    "datesFrom": _l("The first of those dates."),
    "datesTo": _l("The last of those dates."),
    "status": _l(
        "The certificate's status today: active, suspended, withdrawn, expired or not_yet_valid."
    ),
    "statusSince": _l("Since when the certificate has that status."),
    "qualification": _l("The same facts as a sentence, in Spanish and English."),
}


# What a shipment's purchase order (bizTransaction) `{host}/ns/epcis#po/...` names.
ORDER = _l(
    "A purchase order: #po/{buyer}/{number} is the number the buyer gave it, as the "
    "cooperative recorded it, under the buyer's party (the uuid of its URN)."
)


def vocabulary(base: str, locales: Sequence[str]) -> dict[str, Any]:
    """The `tracker:` terms and purchase orders, as JSON-LD, in every language."""
    root = f"{base.rstrip('/')}{VOCABULARY_PATH}"
    comments: dict[str, list[dict[str, str]]] = {term: [] for term in [*TERMS, "po"]}
    for locale in locales:
        with force_locale(locale):
            for term, text in [*TERMS.items(), ("po", ORDER)]:
                comments[term].append({"@language": locale, "@value": str(text)})
    order = {"@id": "tracker:po", "rdfs:isDefinedBy": {"@id": root}, "rdfs:comment": comments["po"]}
    return {
        "@context": {
            "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "tracker": f"{root}#",
        },
        "@graph": [
            {
                "@id": f"tracker:{term}",
                "@type": "rdf:Property",
                "rdfs:isDefinedBy": {"@id": root},
                "rdfs:comment": comments[term],
            }
            for term in TERMS
        ]
        + [order],
    }


__all__ = ["MEDIA_TYPE", "VOCABULARY_PATH", "lot_document", "shipment_document", "vocabulary"]
