"""The managers' pages: gather, process (with the yield confirmation), split, merge, void,
genealogy, shipments and products, through the real forms (CSRF off here, see test_csrf)."""

import re
from datetime import date

import pytest
from sqlmodel import select

from tests.factories import make_delivery, make_family, make_lot, make_plot, make_site
from tracker.models import Delivery, Lot, Shipment


@pytest.fixture
def deliveries(db, world):
    family = make_family(db, world.a, head_name="Rosa Panduro Sangama")
    plot = make_plot(db, family, name="La Esperanza")
    made = [
        make_delivery(db, world.a, family, plot, kg=kg, on=date(2026, 6, day))
        for kg, day in ((400, 2), (350.5, 3), (249.5, 4))
    ]
    db.commit()
    return made


def _lot_id(response):
    match = re.search(r"/lots/([0-9a-f-]{36})$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


def test_a_manager_gathers_processes_splits_and_voids(client, auth, deliveries, db, world):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/lots/new?crop=coffee&form=dry_parchment")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(d.receipt_number in text for d in deliveries)
    assert "Rosa Panduro Sangama" in text and "La Esperanza" in text

    form = {
        "crop": "coffee",
        "form": "dry_parchment",
        "delivery": [str(deliveries[0].id), str(deliveries[1].id)],
        f"kg_{deliveries[1].id}": "100,5",
        "idempotency_key": "form-1",
    }
    response = client.post("/c/COOPA/lots/new", data=form)
    assert response.status_code == 303
    lot_id = _lot_id(response)
    again = client.post("/c/COOPA/lots/new", data=form)  # a double tap: the same lot
    assert again.status_code == 303 and _lot_id(again) == lot_id
    page = client.get(f"/lots/{lot_id}", follow_redirects=True).get_data(as_text=True)
    assert "CAF-2026-0001" in page and "500,5" in page  # Spanish decimal comma
    assert "Procesar" in page and "Dividir" in page

    mill = make_site(db, world.a, kind="dry_mill")
    db.commit()
    process = {
        "process": "hulling",
        "output_form": "green",
        "output_kg": "300",
        "site_id": str(mill.id),
    }
    response = client.post(f"/lots/{lot_id}/process", data=process)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "fuera del rango habitual" in text and 'name="confirm_yield"' in text
    response = client.post(f"/lots/{lot_id}/process", data={**process, "confirm_yield": "on"})
    assert response.status_code == 303
    green_id = _lot_id(response)
    page = client.get(f"/lots/{green_id}").get_data(as_text=True)
    assert "confirmado fuera del rango habitual" in page

    response = client.post(f"/lots/{green_id}/split", data={"parts": "100\n150\n"})
    assert response.status_code == 422
    assert "sumar exactamente" in response.get_data(as_text=True)
    response = client.post(f"/lots/{green_id}/split", data={"parts": "100\n150,5\n49,5"})
    assert response.status_code == 303
    parts = db.exec(select(Lot).where(Lot.form == "green", Lot.status == "open")).all()
    assert sorted(p.weight_g for p in parts) == [49_500, 100_000, 150_500]
    op_id, part_id = parts[0].operation_id, parts[0].id
    db.rollback()

    assert client.post(f"/operations/{op_id}/void", data={"reason": ""}).status_code == 422
    response = client.post(f"/operations/{op_id}/void", data={"reason": "balanza sin tarar"})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Lot, part_id).status == "voided"
    assert db.get(Lot, part_id).void_reason == "balanza sin tarar"
    db.rollback()


def test_take_all_listed_and_merge_from_the_list(client, auth, deliveries, db):
    auth.login("manager.a@example.org")
    listed = [str(d.id) for d in deliveries]
    response = client.post(
        "/c/COOPA/lots/new",
        data={"crop": "coffee", "form": "dry_parchment", "listed": listed[:2], "take_all": "1"},
    )
    assert response.status_code == 303
    response = client.post(
        "/c/COOPA/lots/new",
        data={"crop": "coffee", "form": "dry_parchment", "delivery": listed[2:]},
    )
    assert response.status_code == 303
    ids = [str(lot.id) for lot in db.exec(select(Lot)).all()]
    db.rollback()
    page = client.get("/c/COOPA/lots").get_data(as_text=True)
    assert "CAF-2026-0001" in page and "CAF-2026-0002" in page
    response = client.post("/c/COOPA/lots/merge", data={"lot": ids})
    assert response.status_code == 303
    merged = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "CAF-2026-0003" in merged and "1.000" in merged
    # Merging again fails clearly and changes nothing.
    response = client.post("/c/COOPA/lots/merge", data={"lot": ids}, follow_redirects=True)
    assert "no puede usarse de nuevo" in response.get_data(as_text=True)
    assert db.exec(select(Delivery)).all()[0].lotted_g > 0


def test_bad_form_input_is_explained_not_a_500(client, auth, deliveries, db, world):
    auth.login("manager.a@example.org")
    cases = [
        {"crop": "coffee", "form": "dry_parchment"},
        {"crop": "coffee", "form": "dry_parchment", "delivery": ["nope"]},
        {
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(deliveries[0].id)],
            f"kg_{deliveries[0].id}": "mucho",
        },
        {
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(deliveries[0].id)],
            f"kg_{deliveries[0].id}": "400,001",
        },
        {"crop": "cacao", "form": "dry_parchment", "delivery": [str(deliveries[0].id)]},
        {
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(deliveries[0].id)],
            "occurred_on": "2026-13-01",
        },
        {
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(deliveries[0].id)],
            "gtin": "12345678",
        },
    ]
    cases.append(
        {
            "crop": "coffee",
            "form": "dry_parchment",
            "delivery": [str(deliveries[0].id)],
            f"kg_{deliveries[0].id}": "1e400",
        }
    )
    for data in cases:
        response = client.post("/c/COOPA/lots/new", data=data)
        assert response.status_code == 422, data
        assert 'class="error"' in response.get_data(as_text=True), data
    assert db.exec(select(Lot)).all() == []
    lot = make_lot(db, world.a, [deliveries[1]])
    db.commit()
    for data in (
        {"process": "hulling", "output_form": "green", "output_kg": "1e400"},
        {"process": "hulling", "output_form": "green", "output_kg": "-5"},
        {"process": "baking", "output_form": "green", "output_kg": "10"},
        {"process": "hulling", "output_form": "green", "output_kg": ""},
    ):
        response = client.post(f"/lots/{lot.id}/process", data=data)
        assert response.status_code == 422, data
    for parts in ("1e400\n1", "abc\n1", "", "350,5"):
        assert client.post(f"/lots/{lot.id}/split", data={"parts": parts}).status_code == 422


def test_genealogy_page_draws_the_tree_and_names_the_families(client, auth, deliveries, db, world):
    from tracker.services import lots

    lot = make_lot(db, world.a, deliveries[:2])
    other = make_lot(db, world.a, deliveries[2:])
    merged = lots.merge_lots(db, coop=world.a, lot_ids=[lot.id, other.id])
    green = lots.process_lot(
        db, lot=merged, process="hulling", output_form="green", output_g=800_000
    )
    db.commit()
    auth.login("auditor.a@example.org")
    response = client.get(f"/lots/{lot.id}/genealogy")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<svg" in text and "<script" not in text.split("<main", 1)[1]
    for code in (lot.code, other.code, merged.code, green.code):
        assert code in text
    assert "Rosa Panduro Sangama" in text and "2 entregas" in text
    response = client.get(f"/lots/{green.id}/genealogy")
    assert "1.000,0 kg" in response.get_data(as_text=True)  # one decimal, as every summary


def test_shipment_pages(client, auth, db, world):
    lots_ = [make_lot(db, world.a, kg=kg) for kg in (60, 40)]
    db.commit()
    auth.login("manager.a@example.org")
    assert client.get("/c/COOPA/shipments/new").status_code == 200
    data = {
        "buyer_name": "Hanseatic Coffee Importers GmbH",
        "buyer_country": "de",
        "contract": "HH-2026-014",
        "container": "msku1234565",
        "lot": [str(lot.id) for lot in lots_],
    }
    bad = client.post("/c/COOPA/shipments/new", data={**data, "buyer_country": "Alemania"})
    assert bad.status_code == 422 and "código de país" in bad.get_data(as_text=True)
    response = client.post("/c/COOPA/shipments/new", data=data)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hanseatic Coffee Importers GmbH" in page and "MSKU1234565" in page
    assert lots_[0].code in page and "100" in page
    shipment_id = db.exec(select(Shipment)).one().id
    db.rollback()
    listing = client.get("/c/COOPA/shipments").get_data(as_text=True)
    assert "Hanseatic" in listing
    epcis = client.get(f"/shipments/{shipment_id}/epcis.jsonld")
    assert epcis.status_code == 200 and epcis.mimetype == "application/ld+json"
    response = client.post(f"/shipments/{shipment_id}/void", data={"reason": "contrato anulado"})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Lot, lots_[0].id).status == "open"


def test_clerks_and_auditors_see_but_cannot_change(client, auth, db, world, deliveries):
    lot = make_lot(db, world.a, kg=50)
    db.commit()
    for email in ("clerk.a@example.org", "auditor.a@example.org"):
        auth.login(email)
        page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
        assert lot.code in page and "Procesar" not in page
        assert client.get("/c/COOPA/lots").status_code == 200
        assert client.get("/c/COOPA/shipments").status_code == 200
        assert client.get("/c/COOPA/lots/new").status_code == 403
        for url, data in (
            (f"/lots/{lot.id}/split", {"parts": "25\n25"}),
            (
                f"/lots/{lot.id}/process",
                {"process": "hulling", "output_form": "green", "output_kg": "40"},
            ),
            (f"/operations/{lot.operation_id}/void", {"reason": "x"}),
            ("/c/COOPA/lots/merge", {"lot": [str(lot.id)]}),
            ("/c/COOPA/shipments/new", {"buyer_name": "x", "buyer_country": "DE"}),
        ):
            assert client.post(url, data=data).status_code == 403, (email, url)
        auth.logout()
    db.expire_all()
    assert db.get(Lot, lot.id).status == "open"


def test_products_page_checks_the_gtin(client, auth, db, world):
    auth.login("manager.a@example.org")
    assert client.get("/c/COOPA/products").status_code == 200
    response = client.post(
        "/c/COOPA/products",
        data={"crop": "coffee", "form": "green", "name": "Café verde", "gtin": "07750000000015"},
    )
    assert response.status_code == 422 and "dígito de control" in response.get_data(as_text=True)
    response = client.post(
        "/c/COOPA/products",
        data={"crop": "coffee", "form": "green", "name": "Café verde", "gtin": "07750000000014"},
    )
    assert response.status_code == 303
    lot = make_lot(db, world.a, kg=100)
    db.commit()
    response = client.post(
        f"/lots/{lot.id}/process",
        data={"process": "hulling", "output_form": "green", "output_kg": "80"},
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "07750000000014" in page and "https://trace.example.org/01/07750000000014/10/" in page


def test_dashboard_shows_the_lots_panel(client, auth, db, world):
    make_lot(db, world.a, kg=123)
    db.commit()
    auth.login("clerk.a@example.org")
    page = client.get("/c/COOPA/").get_data(as_text=True)
    assert "Lotes" in page and "123" in page


def test_claims_from_the_engine_show_on_lists_and_pages(client, auth, db, world):
    """A lot of certified families' deliveries shows its organic claim and certificate."""
    from tests.factories import cover, make_certificate, make_shipment

    cert = make_certificate(db, world.a, number="CU-PE-2026-0871")
    family = make_family(db, world.a)
    cover(db, cert, family)
    plot = make_plot(db, family)
    delivery = make_delivery(db, world.a, family, plot, kg=80, on=date(2026, 6, 2))
    lot = make_lot(db, world.a, [delivery])
    db.commit()
    auth.login("manager.a@example.org")
    listing = client.get("/c/COOPA/lots").get_data(as_text=True)
    assert "orgánico" in listing
    page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert "orgánico" in page and "CU-PE-2026-0871" in page
    assert "orgánico" in client.get("/c/COOPA/shipments/new").get_data(as_text=True)
    shipment = make_shipment(db, world.a, [lot])
    db.commit()
    page = client.get(f"/shipments/{shipment.id}").get_data(as_text=True)
    assert "orgánico" in page and "CU-PE-2026-0871" in page


def test_a_lots_quintales_are_written_as_on_every_other_page(client, auth, db, world):
    """The lot page wrote "(91,29 quintales)" with its own arithmetic while the other pages
    write "(91,3 qq)" through formatting.kg_qq; a form with no quintal shows none."""
    from tracker import formatting

    parchment = make_lot(db, world.a, kg=[1000] * 5 + [39.2], form="dry_parchment")
    cherry = make_lot(db, world.a, kg=120, form="cherry")
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{parchment.id}", headers={"Accept-Language": "es"})
    text = page.get_data(as_text=True)
    assert formatting.kg_qq(5_039_200, "dry_parchment", locale="es") == (
        "5.039,2\u00a0kg (91,3\u00a0qq)"
    )
    assert "5.039,2 kg" in text and "(91,3&nbsp;qq)" in text and "quintales)" not in text
    other = client.get(f"/lots/{cherry.id}", headers={"Accept-Language": "es"})
    assert "qq)" not in other.get_data(as_text=True)
