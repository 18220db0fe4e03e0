"""What a buyer's system reads in the EPCIS exports: which objects a certificate covers,
on what basis, when each event happened, which purchase order a shipment fills, and one
name per lot. Each test here was a defect found by helper-62 (it failed on the code before
the fix); every document still validates against GS1's EPCIS 2.0 schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from sqlmodel import select

from tests import factories as f
from tracker.models import Delivery

STANDARDS = Path("/work/shared/standards/epcis")
CBV = "https://ref.gs1.org/cbv/"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _epcis(client, headers, path, validator):
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    document = json.loads(r.data)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)] == []
    return document


def _events(document):
    return document["epcisBody"]["eventList"]


def _shipping(document):
    [event] = [e for e in _events(document) if e.get("bizStep") == f"{CBV}BizStep-shipping"]
    return event


def _mixed_shipment(db, world):
    """An organic lot of 100 kg and a conventional lot of 70 kg, shipped together."""
    coop = world.a
    cert = f.make_certificate(db, coop)
    fam = f.make_family(db, coop)
    f.cover(db, cert, fam)
    plot = f.make_plot(db, fam)
    organic = f.make_lot(db, coop, [f.make_delivery(db, coop, fam, plot, kg=100)])
    conventional = f.make_lot(db, coop, kg=70)  # a family no certificate covers
    ship = f.make_shipment(db, coop, [organic, conventional])
    db.commit()
    return cert, organic, conventional, ship


def test_shipping_event_certification_info_only_for_certified_lots(
    client, db, world, api_token, validator
):
    """helper-62: certificationInfo applies to every object of an event, yet the shipping
    event of an organic and a conventional lot cited the organic certificate for both
    (the union of the lots' certificates). Now it cites only what every lot carries, and
    `tracker:certificates` says lot by lot which certificate backs which."""
    cert, organic, _conventional, ship = _mixed_shipment(db, world)
    h = api_token("manager.a@example.org")
    api = client.get(f"/api/v1/shipments/{ship.id}", headers=h).get_json()
    claimed = {lot["kg"]: lot["claims"] for lot in api["lots"]}
    assert claimed[70.0] == [] and claimed[100.0]
    shipping = _shipping(_epcis(client, h, f"/api/v1/shipments/{ship.id}/epcis.jsonld", validator))
    assert sorted(q["quantity"] for q in shipping["quantityList"]) == [70.0, 100.0]
    assert "certificationInfo" not in shipping
    entries = shipping["tracker:certificates"]
    by_kg = {q["epcClass"]: q["quantity"] for q in shipping["quantityList"]}
    assert {by_kg[e["tracker:lot"]] for e in entries} == {100.0}
    assert {e["tracker:certificate"] for e in entries} == {
        f"https://trace.example.org/cert/{cert.id}"
    }
    # The organic lot's own making still certifies it: it is that event's only object.
    doc = _epcis(client, h, f"/api/v1/lots/{organic.id}/epcis.jsonld", validator)
    [made] = [e for e in _events(doc) if e["type"] == "TransformationEvent"]
    assert made["certificationInfo"] == [f"https://trace.example.org/cert/{cert.id}"]


def test_a_conventional_lots_public_events_cite_no_certificate(client, db, world, validator):
    """helper-62: the consumer of the conventional lot of a mixed shipment reads no claim
    on its QR page, but its public EPCIS had a shipping event citing the other lot's
    organic certificate. Now none of its events cites one, nor says anything of the other
    lot's certificates."""
    _cert, _organic, conventional, _ship = _mixed_shipment(db, world)
    page = client.get(
        f"/l/{conventional.public_token}", headers={"Accept": "application/json"}
    ).get_json()
    assert page["claims"] == []
    doc = _epcis(client, {}, f"/l/{conventional.public_token}/events.jsonld", validator)
    assert [e.get("certificationInfo") for e in _events(doc) if e.get("certificationInfo")] == []
    assert "/cert/" not in json.dumps(doc)


def test_a_mass_balance_claim_reads_as_mass_balance_in_the_shipment_epcis(
    client, db, world, api_token, validator
):
    """helper-62: a lot given a Fairtrade claim by mass balance (none of its kilos from a
    certified family) read in EPCIS exactly like a segregated one, "valid on the harvest
    dates" included. Now its entry says the basis (`tracker:basis`: mass_balance), says
    nothing of the lot's harvest dates, and its sentence names mass balance."""
    import time_machine

    from tracker.services.claims import massbalance

    with time_machine.travel(datetime(2026, 11, 23, 15, 0, tzinfo=UTC), tick=False):
        mb = f.make_mass_balance_credit(db, world.a)
        lot = f.make_lot(db, world.a, kg=100, form="green")
        massbalance.allocate(db, lot=lot, certificate=mb, user_id=None)
        ship = f.make_shipment(db, world.a, [lot])
        db.commit()
        h = api_token("manager.a@example.org")
        api = client.get(f"/api/v1/shipments/{ship.id}", headers=h).get_json()
        assert [c["basis"] for c in api["lots"][0]["claims"]] == ["mass_balance"]
        doc = _epcis(client, h, f"/api/v1/shipments/{ship.id}/epcis.jsonld", validator)
        described = client.get("/ns/epcis").get_json()
    shipping = _shipping(doc)
    assert shipping["certificationInfo"] == [f"https://trace.example.org/cert/{mb.id}"]
    [entry] = shipping["tracker:certificates"]
    assert entry["tracker:basis"] == "mass_balance"
    assert "tracker:claimRestsOn" not in entry and "tracker:heldOnDates" not in entry
    said = {t["@language"]: t["@value"] for t in entry["tracker:qualification"]}
    assert said["en"].startswith("mass balance") and "harvest" not in said["en"]
    assert said["es"].startswith("balance de masas") and "cosecha" not in said["es"]
    assert "tracker:basis" in {term["@id"] for term in described["@graph"]}


def test_a_segregated_claim_says_its_basis_and_its_harvest_dates(
    client, db, world, public, api_token, validator
):
    """The other side of the mass-balance fix: a segregated claim keeps its harvest dates
    and says its basis."""
    f.make_shipment(db, world.a, [public.lot])
    db.commit()
    doc = _epcis(
        client,
        api_token("manager.a@example.org"),
        f"/api/v1/lots/{public.lot.id}/epcis.jsonld",
        validator,
    )
    entries = _shipping(doc)["tracker:certificates"]
    assert entries and {e["tracker:basis"] for e in entries} == {"segregated"}
    assert {e["tracker:claimRestsOn"] for e in entries} == {"harvest"}


def test_transformation_is_not_timed_before_the_weighings_it_consumed(
    client, db, world, api_token, time_machine, validator
):
    """helper-62: a delivery weighed at 15:00 on 2 June; the next week the manager forms
    the lot dated 2 June, then ships it dated 2 June too. Known only by their date, the
    lot's making and the shipment were put at 12:00, before the weighing they took. Now
    each is at the later of 12:00 and its latest input that day."""
    coop = world.a
    fam = f.make_family(db, coop)
    plot = f.make_plot(db, fam)
    time_machine.move_to(datetime(2026, 6, 2, 20, 0, tzinfo=UTC))  # 15:00 in Peru
    d = f.make_delivery(db, coop, fam, plot, kg=80, on=date(2026, 6, 2))
    db.commit()
    time_machine.move_to(datetime(2026, 6, 9, 14, 0, tzinfo=UTC))
    lot = f.make_lot(db, coop, [d], occurred_on=date(2026, 6, 2))
    f.make_shipment(db, coop, [lot], shipped_on=date(2026, 6, 2))
    db.commit()
    doc = _epcis(
        client, api_token("manager.a@example.org"), f"/api/v1/lots/{lot.id}/epcis.jsonld", validator
    )
    [weighed] = [e for e in _events(doc) if e.get("action") == "ADD"]
    [made] = [e for e in _events(doc) if e["type"] == "TransformationEvent"]
    assert weighed["eventTime"] == "2026-06-02T15:00:00-05:00"
    assert made["eventTime"] == "2026-06-02T15:00:00-05:00"
    assert _shipping(doc)["eventTime"] == "2026-06-02T15:00:00-05:00"


def test_a_date_only_event_after_a_morning_weighing_stays_at_noon(
    client, db, world, api_token, time_machine, validator
):
    """The rule is the later of 12:00 and the inputs: a weighing at 09:00 leaves the lot
    formed later, dated that day, at 12:00."""
    coop = world.a
    fam = f.make_family(db, coop)
    plot = f.make_plot(db, fam)
    time_machine.move_to(datetime(2026, 6, 2, 14, 0, tzinfo=UTC))  # 09:00 in Peru
    d = f.make_delivery(db, coop, fam, plot, kg=80, on=date(2026, 6, 2))
    db.commit()
    time_machine.move_to(datetime(2026, 6, 9, 14, 0, tzinfo=UTC))
    lot = f.make_lot(db, coop, [d], occurred_on=date(2026, 6, 2))
    db.commit()
    doc = _epcis(
        client, api_token("manager.a@example.org"), f"/api/v1/lots/{lot.id}/epcis.jsonld", validator
    )
    [made] = [e for e in _events(doc) if e["type"] == "TransformationEvent"]
    assert made["eventTime"] == "2026-06-02T12:00:00-05:00"


def test_every_tracker_term_of_an_export_is_described_at_its_namespace(
    client, db, world, public, api_token, validator
):
    """helper-62: the public events of a certified, shipped lot use `tracker:` terms the
    vocabulary at {host}/ns/epcis did not describe (tracker:certificates, tracker:status...).
    Now every term of the public and the member documents is described, in both
    languages."""
    ship = f.make_shipment(db, world.a, [public.lot])
    db.commit()
    h = api_token("manager.a@example.org")
    documents = [
        _epcis(client, {}, f"/l/{public.lot.public_token}/events.jsonld", validator),
        _epcis(client, h, f"/api/v1/shipments/{ship.id}/epcis.jsonld", validator),
    ]
    used = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key.startswith("tracker:"):
                    used.add(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(documents)
    assert {"tracker:certificates", "tracker:status", "tracker:basis"} <= used
    vocabulary = client.get("/ns/epcis").get_json()
    described = {term["@id"]: term["rdfs:comment"] for term in vocabulary["@graph"]}
    assert used - set(described) == set(), sorted(used - set(described))
    for term in used:
        languages = {c["@language"]: c["@value"] for c in described[term]}
        assert set(languages) == {"es", "en"} and languages["es"] != languages["en"], term


def test_shipping_event_names_the_buyers_purchase_order(
    client, db, world, public, api_token, validator
):
    """helper-62: the contract (the buyer's purchase order HH-2026-014) was a urn:uuid
    hashed from its number, which no buyer's system can match. Now bizTransactionList
    carries it (CBV BTT-po) readably, under the buyer's party, in a URI that resolves; the
    public document still leaves it out."""
    ship = f.make_shipment(db, world.a, [public.lot], contract="HH-2026-014")
    db.commit()
    h = api_token("manager.a@example.org")
    shipping = _shipping(_epcis(client, h, f"/api/v1/shipments/{ship.id}/epcis.jsonld", validator))
    [po] = shipping["bizTransactionList"]
    assert po["type"] == f"{CBV}BTT-po"
    buyer = shipping["destinationList"][0]["destination"].rpartition(":")[2]
    assert po["bizTransaction"] == f"https://trace.example.org/ns/epcis#po/{buyer}/HH-2026-014"
    described = client.get("/ns/epcis").get_json()  # the namespace says what #po/... is
    assert "tracker:po" in {term["@id"] for term in described["@graph"]}
    public_doc = _epcis(client, {}, f"/l/{public.lot.public_token}/events.jsonld", validator)
    assert "HH-2026-014" not in json.dumps(public_doc)


def test_a_lots_epcis_identifier_does_not_change_when_its_labels_are_printed(
    client, db, world, api_token, validator
):
    """helper-62: a lot with a GTIN was an EPC class URN until its labels were printed and
    its public Digital Link after: two objects for one lot in a buyer's repository. Now it
    is always its Digital Link on id.gs1.org (the standards brief's form)."""
    built = f.make_public_lot(db, world.a, published=False)
    db.commit()
    h = api_token("manager.a@example.org")
    path = f"/api/v1/lots/{built.lot.id}/epcis.jsonld"

    def lot_class(doc):
        [made] = [
            e for e in _events(doc) if e.get("ilmd", {}).get("tracker:operation") == "process"
        ]
        return made["outputQuantityList"][0]["epcClass"]

    before = lot_class(_epcis(client, h, path, validator))
    assert client.get(f"/api/v1/lots/{built.lot.id}/labels.pdf", headers=h).status_code == 200
    after = lot_class(_epcis(client, h, path, validator))
    assert before == after == f"https://id.gs1.org/01/{f.GREEN_GTIN}/10/{built.lot.code}"
    public_doc = _epcis(client, {}, f"/l/{built.lot.public_token}/events.jsonld", validator)
    assert lot_class(public_doc) == after


def test_a_delivery_synced_from_the_outbox_is_not_timed_at_its_sync(
    client, db, world, api_token, time_machine, validator
):
    """helper-62: weighed offline in the morning, synced at 17:00 when the network came
    back, the delivery's commissioning event said 17:00, the sync, as if it were the
    weighing (the device sends no time). A delivery recorded through a device is now timed
    by its date, 12:00, like an imported row; one synced before noon of its day, by its
    sync (it cannot have been weighed later)."""
    family = f.make_family(db, world.a)
    f.make_plot(db, family, name="Parcela 1")
    db.commit()
    clerk = api_token("clerk.a@example.org")
    time_machine.move_to(datetime(2026, 6, 10, 12, 0, tzinfo=UTC))  # 07:00 in Peru
    enrolled = client.post(
        "/api/v1/cooperatives/COOPA/devices", json={"name": "Tablet"}, headers=clerk
    )
    device = {"Authorization": f"Bearer {enrolled.get_json()['token']}"}
    block = client.post("/api/v1/device/blocks", json={"size": 5}, headers=device).get_json()
    body = {
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": "2026-06-10",
        "gross_kg": "41.300",
        "tare_kg": "0.300",
        "price_per_kg": "9.10",
    }

    def sync(seq, **changes):
        synced = client.post(
            "/api/v1/device/deliveries",
            json={**body, **changes, "receipt_seq": seq},
            headers={**device, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert synced.status_code == 201, synced.get_json()

    time_machine.move_to(datetime(2026, 6, 10, 13, 30, tzinfo=UTC))  # 08:30: synced
    sync(block["first_seq"], gross_kg="20.300")
    time_machine.move_to(datetime(2026, 6, 10, 22, 0, tzinfo=UTC))  # 17:00: synced
    sync(block["first_seq"] + 1)
    # A phone that sends the moment it weighed (intake.js's weighed_at): timed by it.
    sync(block["first_seq"] + 2, gross_kg="30.300", weighed_at="2026-06-10T09:15:00-05:00")
    found = db.exec(select(Delivery).where(Delivery.cooperative_id == world.a.id)).all()
    lot = f.make_lot(db, world.a, list(found))
    db.commit()
    doc = _epcis(
        client, api_token("manager.a@example.org"), f"/api/v1/lots/{lot.id}/epcis.jsonld", validator
    )
    times = {
        e["quantityList"][0]["quantity"]: e["eventTime"]
        for e in _events(doc)
        if e.get("action") == "ADD"
    }
    assert times == {
        20.0: "2026-06-10T08:30:00-05:00",
        41.0: "2026-06-10T12:00:00-05:00",
        30.0: "2026-06-10T09:15:00-05:00",
    }


def test_a_malformed_lot_id_in_a_new_shipment_is_refused_in_spanish(client, db, world, api_token):
    """helper-62: every other refusal of POST /shipments is in the caller's language; a
    lot id that is not a UUID answered marshmallow's English "Not a valid UUID."."""
    lot = f.make_lot(db, world.a, kg=80)
    db.commit()
    m = api_token("manager.a@example.org")
    r = client.post(
        "/api/v1/cooperatives/COOPA/shipments",
        json={"buyer_name": "X", "buyer_country": "DE", "lot_ids": [str(lot.id), "CAF-2026-0001"]},
        headers={**m, "Accept-Language": "es"},
    )
    assert r.status_code == 422
    said = json.dumps(r.get_json()["errors"], ensure_ascii=False)
    assert "Not a valid UUID" not in said and "Identificador no válido." in said, said


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built
