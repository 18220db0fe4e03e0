"""The lots, trace and shipments endpoints of API.md, as a manager, a clerk and an auditor."""

import json
from datetime import date

import pytest
from sqlmodel import select

from tests.factories import make_delivery, make_family, make_lot, make_plot, make_site
from tracker.models import Delivery, Lot, LotOperation

LOT_FIELDS = {
    "id",
    "code",
    "public_token",
    "public_url",
    "crop",
    "form",
    "weight_kg",
    "available_kg",
    "gtin",
    "claims",
    "status",
    "created_at",
}


@pytest.fixture
def manager(api_token, world):
    """The manager's bearer token; messages in English (Spanish is the default)."""
    return {**api_token("manager.a@example.org"), "Accept-Language": "en"}


@pytest.fixture
def deliveries(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    made = [
        make_delivery(db, world.a, family, plot, kg=kg, on=date(2026, 6, day))
        for kg, day in ((50, 2), (30.5, 3), (19.5, 4))
    ]
    db.commit()
    return made


def _create(client, headers, deliveries, **extra):
    body = {
        "crop": "coffee",
        "form": "dry_parchment",
        "deliveries": [{"delivery_id": str(d.id)} for d in deliveries],
        **extra,
    }
    return client.post("/api/v1/cooperatives/COOPA/lots", json=body, headers=headers)


def test_create_lot_from_deliveries_answers_the_lot(client, manager, deliveries, db):
    body = {
        "crop": "coffee",
        "form": "dry_parchment",
        "deliveries": [
            {"delivery_id": str(deliveries[0].id), "kg": "20,5"},
            {"delivery_id": str(deliveries[1].id)},
        ],
    }
    response = client.post("/api/v1/cooperatives/COOPA/lots", json=body, headers=manager)
    assert response.status_code == 201, response.get_json()
    lot = response.get_json()
    assert set(lot) >= LOT_FIELDS
    assert lot["code"] == "CAF-2026-0001"
    assert (lot["weight_kg"], lot["available_kg"], lot["status"]) == (51.0, 51.0, "open")
    assert lot["public_url"] == f"https://trace.example.org/l/{lot['public_token']}"
    assert isinstance(lot["claims"], list)
    again = client.get(f"/api/v1/lots/{lot['id']}", headers=manager).get_json()
    assert again["id"] == lot["id"] and again["claims"] == lot["claims"]
    db.expire_all()
    assert db.get(Delivery, deliveries[0].id).lotted_g == 20_500
    db.rollback()


def test_list_is_paginated_and_filtered(client, manager, db, world):
    for _ in range(3):
        make_lot(db, world.a)
    make_lot(db, world.a, form="cherry")
    db.commit()
    response = client.get(
        "/api/v1/cooperatives/COOPA/lots?page=1&page_size=2&form=dry_parchment", headers=manager
    )
    assert response.status_code == 200
    assert len(response.get_json()) == 2
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    assert (
        client.get("/api/v1/cooperatives/COOPA/lots?status=nope", headers=manager).status_code
        == 422
    )


def test_bad_input_names_the_field_and_changes_nothing(client, manager, deliveries, db):
    cases = [
        ({"crop": "tea", "form": "dry_parchment", "deliveries": []}, {"crop", "deliveries"}),
        ({"crop": "coffee", "form": "dry_parchment"}, {"deliveries"}),
        (
            {
                "crop": "coffee",
                "form": "dry_parchment",
                "deliveries": [{"delivery_id": "not-a-uuid", "kg": "abc"}],
            },
            {"deliveries"},
        ),
        (
            {
                "crop": "coffee",
                "form": "dry_parchment",
                "extra": 1,
                "deliveries": [{"delivery_id": str(deliveries[0].id)}],
            },
            {"extra"},
        ),
        (
            {
                "crop": "coffee",
                "form": "dry_parchment",
                "deliveries": [{"delivery_id": str(deliveries[0].id), "kg": 50.001}],
            },
            {"deliveries"},
        ),
        (
            {
                "crop": "coffee",
                "form": "cherry",
                "deliveries": [{"delivery_id": str(deliveries[0].id)}],
            },
            {"deliveries"},
        ),
        (
            {
                "crop": "coffee",
                "form": "dry_parchment",
                "gtin": "12345678",
                "deliveries": [{"delivery_id": str(deliveries[0].id)}],
            },
            {"gtin"},
        ),
    ]
    for body, fields in cases:
        response = client.post("/api/v1/cooperatives/COOPA/lots", json=body, headers=manager)
        assert response.status_code == 422, (body, response.get_json())
        assert set(response.get_json()["errors"]) == fields, response.get_json()
    for raw in (b"[]", b"null", b"{", b'"x"'):
        response = client.post(
            "/api/v1/cooperatives/COOPA/lots",
            data=raw,
            headers={**manager, "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422), raw
    db.expire_all()
    assert db.exec(select(Lot)).all() == []
    assert all(d.lotted_g == 0 for d in db.exec(select(Delivery)).all())


def test_merge_split_process_trace_and_void(client, manager, deliveries, db, world):
    first = _create(client, manager, deliveries[:1]).get_json()
    second = _create(client, manager, deliveries[1:]).get_json()
    response = client.post(
        "/api/v1/lots/merge", json={"lot_ids": [first["id"], second["id"]]}, headers=manager
    )
    assert response.status_code == 201, response.get_json()
    merged = response.get_json()
    assert merged["weight_kg"] == 100.0
    assert (
        client.get(f"/api/v1/lots/{first['id']}", headers=manager).get_json()["status"]
        == "consumed"
    )
    response = client.post(
        f"/api/v1/lots/{merged['id']}/split", json={"parts_kg": [70, 29.999]}, headers=manager
    )
    assert response.status_code == 422
    assert "add up exactly" in response.get_json()["errors"]["parts_kg"][0]
    parts = client.post(
        f"/api/v1/lots/{merged['id']}/split", json={"parts_kg": [70, "30"]}, headers=manager
    ).get_json()
    assert [p["weight_kg"] for p in parts] == [70.0, 30.0]
    mill = make_site(db, world.a)
    db.commit()
    process = {
        "process": "hulling",
        "output_form": "green",
        "output_kg": 49,
        "site_id": str(mill.id),
    }
    response = client.post(f"/api/v1/lots/{parts[0]['id']}/process", json=process, headers=manager)
    assert response.status_code == 422
    assert (
        "A yield of 70.0 % is outside the usual 76–84 %"
        in response.get_json()["errors"]["confirm_yield"][0]
    )
    response = client.post(
        f"/api/v1/lots/{parts[0]['id']}/process",
        json={**process, "confirm_yield": True},
        headers=manager,
    )
    assert response.status_code == 201, response.get_json()
    green = response.get_json()
    assert (green["form"], green["weight_kg"]) == ("green", 49.0)

    trace = client.get(f"/api/v1/lots/{green['id']}/trace", headers=manager).get_json()
    rows = trace["backward"]["deliveries"]
    assert {r["delivery_id"] for r in rows} == {str(d.id) for d in deliveries}
    assert round(sum(r["kg"] for r in rows), 3) == 70.0  # kilos as weighed, 70 % of each
    assert set(rows[0]) >= {"delivery_id", "family_id", "plot_id", "kg"}
    assert trace["forward"] == {"lots": [], "shipments": []}
    forward = client.get(f"/api/v1/lots/{first['id']}/trace", headers=manager).get_json()["forward"]
    assert {lot["code"] for lot in forward["lots"]} == {
        merged["code"],
        parts[0]["code"],
        parts[1]["code"],
        green["code"],
    }
    from_delivery = client.get(f"/api/v1/deliveries/{deliveries[0].id}/trace", headers=manager)
    assert len(from_delivery.get_json()["lots"]) == 5

    op_id = parts[0]["operation_id"]
    response = client.post(
        f"/api/v1/operations/{op_id}/void", json={"reason": "wrong"}, headers=manager
    )
    assert response.status_code == 409
    assert "void what was done with it first" in response.get_json()["message"]
    green_op = green["operation_id"]
    assert (
        client.post(f"/api/v1/operations/{green_op}/void", json={}, headers=manager).status_code
        == 422
    )
    response = client.post(
        f"/api/v1/operations/{green_op}/void", json={"reason": "scale not tared"}, headers=manager
    )
    assert response.status_code == 200 and response.get_json()["voided"] is True
    assert (
        client.get(f"/api/v1/lots/{parts[0]['id']}", headers=manager).get_json()["available_kg"]
        == 70.0
    )
    assert (
        client.get(f"/api/v1/operations/{green_op}", headers=manager).get_json()["void_reason"]
        == "scale not tared"
    )


def test_idempotency_key_makes_one_lot(client, manager, deliveries, db):
    headers = {**manager, "Idempotency-Key": "lot-2026-06-04-a"}
    first = _create(client, headers, deliveries)
    second = _create(client, headers, deliveries)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(db.exec(select(Lot)).all()) == 1


def test_clerks_and_auditors_read_but_do_not_change(client, api_token, deliveries, db, world):
    lot = make_lot(db, world.a)
    db.commit()
    for email in ("clerk.a@example.org", "auditor.a@example.org"):
        headers = api_token(email)
        assert client.get(f"/api/v1/lots/{lot.id}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/lots/{lot.id}/trace", headers=headers).status_code == 200
        assert client.get("/api/v1/cooperatives/COOPA/lots", headers=headers).status_code == 200
        assert _create(client, headers, deliveries).status_code == 403
        response = client.post(
            f"/api/v1/lots/{lot.id}/split", json={"parts_kg": [50, 50]}, headers=headers
        )
        assert response.status_code == 403
        response = client.post(
            "/api/v1/lots/merge", json={"lot_ids": [str(lot.id)] * 2}, headers=headers
        )
        assert response.status_code == 403
    assert client.get(f"/api/v1/lots/{lot.id}").status_code == 401


def test_merge_with_another_cooperatives_lot_is_unknown(client, manager, db, world):
    mine, theirs = make_lot(db, world.a), make_lot(db, world.b)
    db.commit()
    for ids in ([str(mine.id), str(theirs.id)], [str(theirs.id), str(mine.id)]):
        response = client.post("/api/v1/lots/merge", json={"lot_ids": ids}, headers=manager)
        assert response.status_code == 422
        assert response.get_json()["errors"]["lot_ids"][0].startswith("Unknown lot")
    db.expire_all()
    assert db.get(Lot, theirs.id).status == "open"


def test_products_take_only_valid_gtins(client, manager, api_token):
    url = "/api/v1/cooperatives/COOPA/products"
    bad = {"crop": "coffee", "form": "green", "name": "Verde", "gtin": "07750000000015"}
    response = client.post(url, json=bad, headers=manager)
    assert response.status_code == 422 and "check digit" in response.get_json()["errors"]["gtin"][0]
    good = {**bad, "gtin": "7750000000014"}
    assert client.post(url, json=good, headers=manager).get_json()["gtin"] == "07750000000014"
    assert (
        client.get(url, headers=api_token("clerk.a@example.org")).get_json()[0]["gtin"]
        == "07750000000014"
    )
    assert client.post(url, json=good, headers=api_token("clerk.a@example.org")).status_code == 403


def test_shipments_sell_lots_to_a_buyer(client, manager, api_token, db, world):
    lots_ = [make_lot(db, world.a, kg=kg) for kg in (60, 40)]
    db.commit()
    body = {
        "buyer_name": "Hanseatic Coffee Importers GmbH",
        "buyer_country": "DE",
        "contract": "HH-2026-014",
        "container": "MSKU1234565",
        "lot_ids": [str(lot.id) for lot in lots_],
    }
    response = client.post("/api/v1/cooperatives/COOPA/shipments", json=body, headers=manager)
    assert response.status_code == 201, response.get_json()
    shipment = response.get_json()
    assert shipment["weight_kg"] == 100.0
    assert sorted(lot["kg"] for lot in shipment["lots"]) == [40.0, 60.0]
    assert set(shipment["lot_ids"]) == {str(lot.id) for lot in lots_}
    for lot in lots_:
        assert (
            client.get(f"/api/v1/lots/{lot.id}", headers=manager).get_json()["status"] == "shipped"
        )
    again = client.post("/api/v1/cooperatives/COOPA/shipments", json=body, headers=manager)
    assert again.status_code == 409 and "cannot be shipped" in again.get_json()["message"]
    auditor = api_token("auditor.a@example.org")
    assert (
        client.get(f"/api/v1/shipments/{shipment['id']}", headers=auditor).get_json()[
            "buyer_country"
        ]
        == "DE"
    )
    listed = client.get("/api/v1/cooperatives/COOPA/shipments", headers=auditor).get_json()
    assert [s["id"] for s in listed] == [shipment["id"]]
    trace = client.get(f"/api/v1/lots/{lots_[0].id}/trace", headers=auditor).get_json()
    assert [s["id"] for s in trace["forward"]["shipments"]] == [shipment["id"]]
    bad = {**body, "buyer_country": "Germany", "buyer_name": "", "shipped_on": "2099-01-01"}
    response = client.post("/api/v1/cooperatives/COOPA/shipments", json=bad, headers=manager)
    assert response.status_code == 422
    assert {"buyer_country"} <= set(response.get_json()["errors"])
    response = client.post(
        f"/api/v1/shipments/{shipment['id']}/void", json={"reason": "wrong buyer"}, headers=manager
    )
    assert response.status_code == 200 and response.get_json()["voided"] is True
    assert client.get(f"/api/v1/lots/{lots_[0].id}", headers=manager).get_json()["status"] == "open"
    assert db.exec(select(LotOperation)).all()


def test_messages_are_spanish_unless_asked_otherwise(client, api_token, db, world):
    lot = make_lot(db, world.a, kg=100)
    db.commit()
    headers = api_token("manager.a@example.org")
    url = f"/api/v1/lots/{lot.id}/split"
    response = client.post(url, json={"parts_kg": [60, "39,5"]}, headers=headers)
    assert response.get_json()["errors"]["parts_kg"] == [
        "Las partes suman 99,5 kg pero el lote tiene 100 kg: deben sumar exactamente."
    ]
    response = client.post(
        url, json={"parts_kg": [60, "39,5"]}, headers={**headers, "Accept-Language": "en"}
    )
    assert response.get_json()["errors"]["parts_kg"] == [
        "The parts add up to 99.5 kg but the lot holds 100 kg: they must add up exactly."
    ]
    response = client.post(url, json={"parts_kg": [1]}, headers=headers)
    assert response.get_json()["errors"]["parts_kg"] == ["Indique de 2 a 100 elementos."]
    response = client.post(url, json={}, headers=headers)
    assert response.get_json()["errors"]["parts_kg"] == ["Este campo es obligatorio."]
