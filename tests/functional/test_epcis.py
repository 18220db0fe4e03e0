"""EPCIS 2.0 export: every document validates against GS1's JSON schema (draft-07, with a
format checker), speaks the CBV and KGM, conserves mass and leaks nothing of a family."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from sqlmodel import select

from tests.factories import (
    centre_of,
    cover,
    make_certificate,
    make_delivery,
    make_family,
    make_lot,
    make_plot,
    make_shipment,
    make_site,
)
from tracker.models import AuditEntry, Delivery, LotOperation
from tracker.services import claims, lots

STANDARDS = Path("/work/shared/standards/epcis")
CBV = "https://ref.gs1.org/cbv/"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _errors(validator, document):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("example", sorted(p.name for p in STANDARDS.glob("examples-*.jsonld")))
def test_the_official_examples_validate(validator, example):
    assert _errors(validator, json.loads((STANDARDS / example).read_text())) == []


def test_the_validator_really_checks_formats_and_cbv(validator):
    """A wrong date-time, a URI without scheme or an old-style bizStep URN must fail."""
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-06-02T10:00:00-05:00",
        "eventTimeZoneOffset": "-05:00",
        "action": "ADD",
        "bizStep": f"{CBV}BizStep-commissioning",
        "quantityList": [
            {
                "epcClass": "https://id.gs1.org/01/07750000000014/10/CAF-1",
                "quantity": 1.5,
                "uom": "KGM",
            }
        ],
    }
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-23T10:00:00+00:00",
        "epcisBody": {"eventList": [event]},
    }
    assert _errors(validator, document) == []
    for key, value in (
        ("eventTime", "2 June 2026"),
        ("bizStep", "urn:epcglobal:cbv:bizstep:commissioning"),
        ("quantityList", [{"epcClass": "CAF-1", "quantity": 1.5, "uom": "KGM"}]),
        ("quantityList", [{"epcClass": "https://x.org/a", "quantity": 1, "uom": "kg"}]),
    ):
        broken = json.loads(json.dumps(document))
        broken["epcisBody"]["eventList"][0][key] = value
        assert _errors(validator, broken), key


@pytest.fixture
def season(db, world):
    """Two families (one with a phone and national ID to leak), a merge, drying... shipped."""
    coop = world.a
    lots.set_product(
        db, coop=coop, crop="coffee", form="green", name="Verde", gtin="07750000000014"
    )
    rosa = make_family(
        db, coop, head_name="Rosa Panduro Sangama", national_id="40112233", phone="987654321"
    )
    juan = make_family(
        db, coop, head_name="Juan Tapullima Ríos", national_id="41223344", phone="912345678"
    )
    plots = [make_plot(db, rosa), make_plot(db, juan)]
    wet = [
        make_delivery(db, coop, rosa, plots[0], kg=180, form="wet_parchment", on=date(2026, 6, 1)),
        make_delivery(db, coop, juan, plots[1], kg=120, form="wet_parchment", on=date(2026, 6, 2)),
    ]
    dry = make_delivery(db, coop, juan, plots[1], kg=100, on=date(2026, 6, 3))
    yard, mill = make_site(db, coop, kind="drying_yard"), make_site(db, coop, kind="dry_mill")
    wet_lot = make_lot(db, coop, wet)
    dried = lots.process_lot(
        db,
        lot=wet_lot,
        process="drying",
        output_form="dry_parchment",
        output_g=165_000,
        site_id=yard.id,
        occurred_on=date(2026, 6, 10),
    )
    bought = make_lot(db, coop, [dry], occurred_on=date(2026, 6, 10))
    merged = lots.merge_lots(
        db, coop=coop, lot_ids=[dried.id, bought.id], occurred_on=date(2026, 6, 12)
    )
    half, rest = lots.split_lot(
        db, lot=merged, parts_g=[132_500, 132_500], occurred_on=date(2026, 6, 13)
    )
    green = lots.process_lot(
        db,
        lot=half,
        process="hulling",
        output_form="green",
        output_g=106_000,
        site_id=mill.id,
        occurred_on=date(2026, 6, 20),
    )
    shipment = make_shipment(db, coop, [green], shipped_on=date(2026, 7, 1))
    db.commit()
    return locals()


def _named(document, uri):
    """The name the document's master data gives an identifier."""
    for vocabulary in document["epcisHeader"]["epcisMasterData"]["vocabularyList"]:
        for element in vocabulary["vocabularyElementList"]:
            if element["id"] == uri:
                names = [a["attribute"] for a in element["attributes"] if a["id"].endswith("#name")]
                return names[0] if names else None
    raise AssertionError(f"{uri} is not in the master data")


def _get(client, headers, url):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/ld+json"
    return response.get_json(), response.get_data(as_text=True)


def test_lot_and_shipment_documents_validate_and_tell_the_story(
    client, api_token, season, validator
):
    headers = api_token("auditor.a@example.org")
    green, shipment = season["green"], season["shipment"]
    for url in (
        f"/api/v1/lots/{green.id}/epcis.jsonld",
        f"/api/v1/shipments/{shipment.id}/epcis.jsonld",
        f"/api/v1/lots/{season['rest'].id}/epcis.jsonld",
        f"/api/v1/lots/{season['wet_lot'].id}/epcis.jsonld",
    ):
        document, text = _get(client, headers, url)
        assert _errors(validator, document) == [], url
        assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
        for private in (
            "Rosa Panduro",
            "Juan Tapullima",
            "40112233",
            "987654321",
            "41223344",
            str(season["rosa"].id),
            str(season["juan"].id),
            "member_code",
        ):
            assert private not in text, (private, url)
        for event in document["epcisBody"]["eventList"]:
            assert event["eventTimeZoneOffset"] == "-05:00"
            assert event["eventTime"].endswith("-05:00")
            assert event["bizStep"].startswith(f"{CBV}BizStep-")
            for key in ("quantityList", "inputQuantityList", "outputQuantityList"):
                assert all(q["uom"] == "KGM" for q in event.get(key, []))

    document, _text = _get(client, headers, f"/api/v1/lots/{green.id}/epcis.jsonld")
    events = document["epcisBody"]["eventList"]
    commissioning = [e for e in events if e["type"] == "ObjectEvent" and e["action"] == "ADD"]
    transformations = [e for e in events if e["type"] == "TransformationEvent"]
    shipping = [e for e in events if e.get("bizStep") == f"{CBV}BizStep-shipping"]
    assert len(commissioning) == 3  # every delivery behind the green coffee
    assert all(e["bizStep"] == f"{CBV}BizStep-commissioning" for e in commissioning)
    assert sorted(q["quantity"] for e in commissioning for q in e["quantityList"]) == [
        100,
        120,
        180,
    ]
    # gathered, dried, gathered (same day, later), merged, split, hulled
    assert [e["ilmd"]["tracker:operation"] for e in transformations] == [
        "create",
        "process",
        "create",
        "merge",
        "split",
        "process",
    ]
    assert [e["eventTime"][:10] for e in events] == sorted(e["eventTime"][:10] for e in events)
    hulled = transformations[-1]
    # A lot with a GTIN: its Digital Link on id.gs1.org, published or not (one name).
    assert hulled["outputQuantityList"] == [
        {
            "epcClass": f"https://id.gs1.org/01/07750000000014/10/{green.code}",
            "quantity": 106.0,
            "uom": "KGM",
        }
    ]
    assert hulled["ilmd"]["tracker:process"] == "hulling"
    assert _named(document, hulled["bizLocation"]["id"]) == season["mill"].name
    split = transformations[-2]
    assert len(split["outputQuantityList"]) == 2  # the part not shipped is an output too
    for event in transformations:  # mass: inputs = outputs + recorded loss, to the gram
        given = sum(q["quantity"] for q in event["inputQuantityList"])
        made = sum(q["quantity"] for q in event["outputQuantityList"])
        assert round(given - made - event["ilmd"]["tracker:lossKg"], 3) == 0
    (shipped,) = shipping
    assert shipped["action"] == "OBSERVE" and shipped["disposition"] == f"{CBV}Disp-in_transit"
    assert shipped["quantityList"][0]["quantity"] == 106.0
    assert shipped["tracker:buyerCountry"] == "DE" and shipped["tracker:container"] == "MSKU1234565"


def test_certification_info_links_the_certificates_behind_the_claims(
    client, api_token, season, validator, db, world
):
    """The certificates come from the claims engine (both families certified organic and
    fair trade from January: every delivery carries both claims); their public pages are
    linked."""
    organic = make_certificate(db, world.a)
    fairtrade = make_certificate(db, world.a, type="fairtrade")
    for cert in (organic, fairtrade):
        for family in (season["rosa"], season["juan"]):
            cover(db, cert, family)
    claims.refresh_cooperative(db, world.a)
    db.commit()
    green = season["green"]
    headers = api_token("manager.a@example.org")
    document, _text = _get(
        client, headers, f"/api/v1/shipments/{season['shipment'].id}/epcis.jsonld"
    )
    assert _errors(validator, document) == []
    events = document["epcisBody"]["eventList"]
    expected = sorted(f"https://trace.example.org/cert/{c.id}" for c in (organic, fairtrade))
    hulled = [e for e in events if e.get("ilmd", {}).get("tracker:process") == "hulling"]
    assert sorted(hulled[0]["certificationInfo"]) == expected
    assert sorted(events[-1]["certificationInfo"]) == expected
    lot = client.get(f"/api/v1/lots/{green.id}", headers=headers).get_json()
    assert {c["type"] for c in lot["claims"]} == {"organic", "fairtrade"}


def test_a_lot_without_gtin_is_named_by_a_stable_urn(client, api_token, db, world, validator):
    lot = make_lot(db, world.a, kg=12.345)
    db.commit()
    url = f"/api/v1/lots/{lot.id}/epcis.jsonld"
    document, text = _get(client, api_token("clerk.a@example.org"), url)
    assert _errors(validator, document) == []
    gathered = document["epcisBody"]["eventList"][-1]
    [output] = gathered["outputQuantityList"]
    assert output["epcClass"].startswith("urn:uuid:") and str(lot.id) not in text
    assert output["quantity"] == 12.345 and output["uom"] == "KGM"
    again, _text = _get(client, api_token("clerk.a@example.org"), url)
    assert again["epcisBody"] == document["epcisBody"]  # the same names every time


def test_another_cooperatives_export_is_not_found(client, api_token, db, world):
    lot = make_lot(db, world.b, crop="cacao")
    db.commit()
    headers = api_token("manager.a@example.org")
    assert client.get(f"/api/v1/lots/{lot.id}/epcis.jsonld", headers=headers).status_code == 404


# -- issue 11.7: parties, the time of weighing, identifiers that resolve ------------------


def _events(document):
    return document["epcisBody"]["eventList"]


def test_shipping_goes_from_the_cooperative_to_the_buyer(
    client, api_token, season, validator, world
):
    headers = api_token("manager.a@example.org")
    for url in (
        f"/api/v1/shipments/{season['shipment'].id}/epcis.jsonld",
        f"/api/v1/lots/{season['green'].id}/epcis.jsonld",
    ):
        document, _text = _get(client, headers, url)
        assert _errors(validator, document) == []
        [shipping] = [e for e in _events(document) if e["bizStep"] == f"{CBV}BizStep-shipping"]
        [source] = shipping["sourceList"]
        [destination] = shipping["destinationList"]
        assert source["type"] == destination["type"] == f"{CBV}SDT-owning_party"
        assert _named(document, source["source"]) == world.a.name
        assert _named(document, destination["destination"]) == "Hanseatic Coffee Importers GmbH"
        assert source["source"].startswith("urn:uuid:")
        assert destination["destination"].startswith("urn:uuid:")


def _csv(member_code: str, day: str, kg: str) -> str:
    return (
        "member_code,crop,form,delivered_on,gross_kg,price_per_kg\n"
        f"{member_code},coffee,dry_parchment,{day},{kg},9.00\n"
    )


def test_deliveries_happen_when_weighed_and_imported_rows_at_noon(
    client, api_token, db, world, validator, time_machine
):
    """At the scale: the moment of weighing. Imported (the issue's 00:49:19 import of an
    earlier day), entered on a later day: the date at 12:00 -05:00 (docs/standards.md).
    A correction keeps the moment of the delivery it corrects."""
    from tracker.services import deliveries, delivery_import

    coop = world.a
    family = make_family(db, coop)
    plot = make_plot(db, family)
    time_machine.move_to(datetime(2026, 6, 2, 15, 4, 5, tzinfo=UTC))  # 10:04:05 in Peru
    weighed = make_delivery(db, coop, family, plot, kg=60, on=date(2026, 6, 2))
    time_machine.move_to(datetime(2026, 6, 3, 13, 30, tzinfo=UTC))
    corrected = deliveries.correct(
        db,
        delivery=weighed,
        reason="Tara mal anotada",
        data=deliveries.DeliveryData(
            family_id=family.id,
            plot_id=plot.id,
            crop="coffee",
            form="dry_parchment",
            delivered_on=date(2026, 6, 2),
            gross_g=61_000,
            tare_g=500,
            price_per_kg_minor=900,
        ),
        centre=centre_of(db, coop),
        clerk_id=None,
    )
    late = make_delivery(db, coop, family, plot, kg=70, on=date(2026, 6, 1))
    time_machine.move_to(datetime(2026, 6, 10, 5, 49, 19, tzinfo=UTC))  # 00:49:19 in Peru
    delivery_import.import_deliveries(
        db,
        coop,
        _csv(family.member_code, "04/06/2026", "80"),
        centre=centre_of(db, coop),
        clerk_id=None,
    )
    imported = db.exec(
        select(Delivery).where(Delivery.cooperative_id == coop.id, Delivery.import_id.is_not(None))
    ).one()
    lot = make_lot(db, coop, [corrected, late, imported])
    db.commit()
    document, _text = _get(
        client, api_token("clerk.a@example.org"), f"/api/v1/lots/{lot.id}/epcis.jsonld"
    )
    assert _errors(validator, document) == []
    times = {
        e["quantityList"][0]["quantity"]: e["eventTime"]
        for e in _events(document)
        if e.get("action") == "ADD"
    }
    assert times == {
        60.5: "2026-06-02T10:04:05-05:00",  # the correction: when the sack was weighed
        70.0: "2026-06-01T12:00:00-05:00",  # entered two days later: its date at noon
        80.0: "2026-06-04T12:00:00-05:00",  # imported: its date at noon, not 00:49:19
    }


def _uris(value):
    """Every string of a document that is an identifier (a URL or a URN)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _uris(item)
    elif isinstance(value, list):
        for item in value:
            yield from _uris(item)
    elif isinstance(value, str) and (value.startswith(("http://", "https://", "urn:"))):
        yield value


def test_every_identifier_resolves_or_is_a_urn(client, api_token, season, db, world, validator):
    """Opened without a login, each of our URLs answers (a certificate, the vocabulary);
    anything else is a URN, a term of GS1's own vocabularies, or a lot with a GTIN named
    by its Digital Link on id.gs1.org."""
    from urllib.parse import urlsplit

    cert = make_certificate(db, world.a)
    db.commit()
    documents = [
        _get(client, api_token("auditor.a@example.org"), url)[0]
        for url in (
            f"/api/v1/shipments/{season['shipment'].id}/epcis.jsonld",
            f"/api/v1/lots/{season['green'].id}/epcis.jsonld",
            f"/api/v1/lots/{season['rest'].id}/epcis.jsonld",
        )
    ]
    documents.append(client.get(f"/l/{season['green'].public_token}/events.jsonld").get_json())
    found = {uri for document in documents for uri in _uris(document)}
    found.add(f"https://trace.example.org/cert/{cert.id}")
    ours = {u for u in found if u.startswith("https://trace.example.org/")}
    gs1 = {u for u in found if u.startswith("https://ref.gs1.org/")}
    urns = {u for u in found if u.startswith("urn:")}
    lots_ = {u for u in found if u.startswith("https://id.gs1.org/01/")}
    assert found == ours | gs1 | urns | lots_, found - ours - gs1 - urns - lots_
    anonymous = client.application.test_client()
    for uri in sorted(ours):
        parts = urlsplit(uri)
        response = anonymous.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        assert response.status_code == 200, (uri, response.status_code)
    # The lot with a GTIN is named by its Digital Link on id.gs1.org; the others by URNs.
    green = f"https://id.gs1.org/01/07750000000014/10/{season['green'].code}"
    assert lots_ == {green}
    assert not any("/id/" in u for u in found)
    assert str(season["wet_lot"].id) not in str(documents)


def test_an_unpublished_lot_with_a_gtin_is_its_gs1_digital_link(client, api_token, db, world):
    """Named as it will be once published: one identifier for one lot (helper-62)."""
    from tracker.services import lots

    lots.set_product(
        db,
        coop=world.a,
        crop="coffee",
        form="dry_parchment",
        name="Pergamino",
        gtin="07750000000021",
    )
    lot = make_lot(db, world.a, kg=40)
    db.commit()
    document, _text = _get(
        client, api_token("clerk.a@example.org"), f"/api/v1/lots/{lot.id}/epcis.jsonld"
    )
    [output] = _events(document)[-1]["outputQuantityList"]
    assert output["epcClass"] == f"https://id.gs1.org/01/07750000000021/10/{lot.code}"


def test_a_voided_shipment_is_declared_an_error_with_the_same_event(
    client, api_token, auth, db, world, season, validator
):
    """A shipment taken back never happened, but a buyer's system may already hold its
    shipping event: the shipment's and its lots' documents send the same event (same
    eventID, exactly as exported before) with an EPCIS 2.0 errorDeclaration
    (did_not_occur, at the moment it was voided), valid against GS1's schema; the lots'
    history is unchanged. Reading them changes nothing."""
    from tracker.services import shipments

    shipment, green = season["shipment"], season["green"]
    headers = api_token("manager.a@example.org")
    urls = (
        f"/api/v1/shipments/{shipment.id}/epcis.jsonld",
        f"/api/v1/lots/{green.id}/epcis.jsonld",
    )
    before = {url: _events(_get(client, headers, url)[0]) for url in urls}
    [sent] = [e for e in before[urls[0]] if e["bizStep"] == f"{CBV}BizStep-shipping"]
    assert "errorDeclaration" not in sent
    assert [e for e in before[urls[1]] if e["eventID"] == sent["eventID"]] == [sent]
    shipments.void_shipment(db, shipment=shipment, reason="Registrado por error", user_id=None)
    db.commit()
    about = AuditEntry.entity_id.in_([str(shipment.id), str(green.id)])  # type: ignore[attr-defined]
    voided_at, entries = shipment.voided_at, len(db.exec(select(AuditEntry.id).where(about)).all())
    db.commit()
    # The void's moment, to the second, in Peru time as the document's other times.
    declared_at = next(
        e["errorDeclaration"]["declarationTime"]
        for e in _events(_get(client, headers, urls[0])[0])
        if "errorDeclaration" in e
    )
    voided_utc = voided_at if voided_at.tzinfo else voided_at.replace(tzinfo=UTC)
    assert datetime.fromisoformat(declared_at) == voided_utc.replace(microsecond=0)
    assert declared_at.endswith("-05:00")
    for url in urls:
        after, _text = _get(client, headers, url)
        assert _errors(validator, after) == []
        [declared] = [e for e in _events(after) if "errorDeclaration" in e]
        assert declared["errorDeclaration"] == {
            "declarationTime": declared_at,
            "reason": "did_not_occur",
            "tracker:voidReason": "Registrado por error",
        }
        del declared["errorDeclaration"]
        assert declared == sent
        assert _events(after) == before[url]  # the same events, in the same order
    public = client.get(f"/l/{green.public_token}/events.jsonld").get_json()
    [withdrawn] = [e for e in _events(public) if "errorDeclaration" in e]
    assert withdrawn["eventID"] == sent["eventID"]
    assert withdrawn["errorDeclaration"] == {
        "declarationTime": declared_at,
        "reason": "did_not_occur",
    }
    assert _errors(validator, public) == []
    auth.login("manager.a@example.org")
    page = client.get(f"/shipments/{shipment.id}").get_data(as_text=True)
    assert "EPCIS 2.0: declaración de error" in page
    staff = client.get(f"/shipments/{shipment.id}/epcis.jsonld")
    assert staff.status_code == 200
    assert _errors(validator, staff.get_json(force=True)) == []
    [declared] = [e for e in _events(staff.get_json(force=True)) if "errorDeclaration" in e]
    assert declared["eventID"] == sent["eventID"]
    assert declared["errorDeclaration"]["reason"] == "did_not_occur"
    db.expire_all()  # reading changed nothing: still voided, nothing recorded
    assert db.get(type(shipment), shipment.id).voided_at == voided_at
    assert len(db.exec(select(AuditEntry.id).where(about)).all()) == entries


def test_a_voided_lots_operation_is_declared_an_error_beside_its_sources_history(
    client, api_token, auth, db, season, validator
):
    """A lot voided after its events were sent: its document answered 500 (a split or
    process took lots the document did not load), or sent the operation as if it had
    happened. Now it sends the same events, the operation's declared an error
    (did_not_occur, at the void's moment), with the history of the lots it took."""
    rest = season["rest"]
    hulled = lots.process_lot(
        db,
        lot=rest,
        process="hulling",
        output_form="green",
        output_g=105_000,
        site_id=season["mill"].id,
        occurred_on=date(2026, 6, 21),
    )
    db.commit()
    headers = api_token("manager.a@example.org")
    url = f"/api/v1/lots/{hulled.id}/epcis.jsonld"
    before = _events(_get(client, headers, url)[0])
    made = [e for e in before if e["type"] == "TransformationEvent"]
    [sent] = [e for e in made if e["ilmd"]["tracker:lots"][0]["tracker:code"] == hulled.code]
    assert len(before) == 9  # three deliveries, two creations, drying, merge, split, hulling
    operation = db.get(LotOperation, hulled.operation_id)
    lots.void_operation(db, operation=operation, reason="Pesado dos veces", user_id=None)
    db.commit()
    voided_at = operation.voided_at
    after, _text = _get(client, headers, url)
    assert _errors(validator, after) == []
    [declared] = [e for e in _events(after) if "errorDeclaration" in e]
    declaration = declared.pop("errorDeclaration")
    assert declaration["reason"] == "did_not_occur"
    assert declaration["tracker:voidReason"] == "Pesado dos veces"
    voided_utc = voided_at if voided_at.tzinfo else voided_at.replace(tzinfo=UTC)
    moment = datetime.fromisoformat(declaration["declarationTime"])
    assert moment == voided_utc.replace(microsecond=0)
    assert declared == sent
    assert _events(after) == before  # the same events, in the same order
    # The lot it took is live again: its own document has nothing declared.
    again = _events(_get(client, headers, f"/api/v1/lots/{rest.id}/epcis.jsonld")[0])
    assert all("errorDeclaration" not in e for e in again)
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{hulled.id}").get_data(as_text=True)
    assert "EPCIS 2.0: declaración de error" in page
    staff = client.get(f"/lots/{hulled.id}/epcis.jsonld")
    assert staff.status_code == 200 and _errors(validator, staff.get_json(force=True)) == []
    assert client.get(f"/l/{hulled.public_token}/events.jsonld").status_code == 410  # gone
