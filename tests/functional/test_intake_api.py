"""The intake API of API.md: field names, errors, privacy, roles, idempotency, CSV import."""

import json

import pytest
from sqlmodel import func, select

from tests.factories import (
    cover,
    intake_sample,
    make_certificate,
    make_community,
    make_delivery,
    make_family,
    make_plot,
    make_sample_members,
    square,
)
from tracker.models import Delivery, Family


@pytest.fixture
def clerk(api_token, world):
    return {**api_token("clerk.a@example.org"), "Accept-Language": "en"}


def _deliveries(db):
    """How many deliveries are stored (the read ends at once: the test's session must not
    hold SQLite's write lock while the app answers the next request)."""
    count = db.exec(select(func.count()).select_from(Delivery)).one()
    db.commit()  # not rollback: that would expire the test's records and read them again
    return count


def test_families_list_search_and_pagination(client, world, db, clerk):
    community = make_community(db, world.a, "Pólvora")
    for n in range(12):
        make_family(
            db, world.a, community=community, member_code=f"CAZ-{1000 + n}", head_name=f"Ríos {n}"
        )
    make_family(db, world.b, member_code="CAZ-1000")
    db.commit()
    response = client.get("/api/v1/cooperatives/COOPA/families?page_size=5&page=2", headers=clerk)
    assert response.status_code == 200
    assert json.loads(response.headers["X-Pagination"])["total"] == 12
    body = response.get_json()
    assert [f["member_code"] for f in body] == [f"CAZ-{n}" for n in range(1005, 1010)]
    assert set(body[0]) == {
        "id",
        "member_code",
        "head_name",
        "woman_led",
        "community_id",
        "national_id",
        "phone",
        "public_name_consent",
        "active",
    }
    assert isinstance(body[0]["id"], str)
    found = client.get("/api/v1/cooperatives/COOPA/families?q=rios 11", headers=clerk).get_json()
    assert [f["member_code"] for f in found] == ["CAZ-1011"]
    assert client.get("/api/v1/cooperatives/COOPA/families?q=polvora", headers=clerk).headers[
        "X-Pagination"
    ]


def test_auditors_never_see_national_id_or_phone(client, world, db, api_token):
    family = make_family(db, world.a, national_id="44016258", phone="963778945")
    db.commit()
    auditor = api_token("auditor.a@example.org")
    listed = client.get("/api/v1/cooperatives/COOPA/families", headers=auditor).get_json()
    one = client.get(f"/api/v1/families/{family.id}", headers=auditor).get_json()
    for shown in (listed[0], one):
        assert "national_id" not in shown and "phone" not in shown
        assert "44016258" not in json.dumps(shown)
    manager = api_token("manager.a@example.org")
    assert (
        client.get(f"/api/v1/families/{family.id}", headers=manager).get_json()["national_id"]
        == "44016258"
    )


def test_family_create_patch_and_errors(client, world, db, clerk, api_token):
    community = make_community(db, world.a)
    foreign = make_community(db, world.b)
    db.commit()
    body = {
        "member_code": "caz-7",
        "head_name": "Ana Ríos",
        "community_id": str(community.id),
        "woman_led": True,
    }
    created = client.post("/api/v1/cooperatives/COOPA/families", json=body, headers=clerk)
    assert created.status_code == 201 and created.get_json()["member_code"] == "CAZ-7"
    again = client.post("/api/v1/cooperatives/COOPA/families", json=body, headers=clerk)
    assert again.status_code == 422 and "member_code" in again.get_json()["errors"]
    bad = client.post(
        "/api/v1/cooperatives/COOPA/families",
        json={
            "member_code": "x y",
            "head_name": "A",
            "community_id": str(foreign.id),
            "color": "red",
        },
        headers=clerk,
    )
    assert bad.status_code == 422 and bad.get_json()["code"] == 422
    assert set(bad.get_json()["errors"]) == {"color"}  # the schema first, then the rules
    bad = client.post(
        "/api/v1/cooperatives/COOPA/families",
        json={"member_code": "x y", "head_name": "A", "community_id": str(foreign.id)},
        headers=clerk,
    )
    assert set(bad.get_json()["errors"]) == {"member_code", "community_id"}
    family_id = created.get_json()["id"]
    patched = client.patch(
        f"/api/v1/families/{family_id}", json={"phone": "+51 963 778 945"}, headers=clerk
    )
    assert patched.status_code == 200 and patched.get_json()["phone"] == "+51 963 778 945"
    assert patched.get_json()["head_name"] == "Ana Ríos"
    auditor = api_token("auditor.a@example.org")
    assert (
        client.patch(
            f"/api/v1/families/{family_id}", json={"phone": "1"}, headers=auditor
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/cooperatives/COOPA/families", json=body, headers=auditor).status_code
        == 403
    )
    assert db.exec(select(func.count()).select_from(Family)).one() == 1


def test_plots_with_geojson_and_flags(client, world, db, clerk, api_token):
    family = make_family(db, world.a)
    db.commit()
    url = f"/api/v1/families/{family.id}/plots"
    point = {
        "name": "Parcela 1",
        "crop": "coffee",
        "area_ha": 1.5,
        "altitude_m": 1200,
        "geometry": {"type": "Point", "coordinates": [-76.45, -7.55]},
    }
    created = client.post(url, json=point, headers=clerk)
    assert created.status_code == 201, created.get_json()
    plot = created.get_json()
    assert plot["family_id"] == str(family.id) and plot["flags"] == [] and plot["area_ha"] == 1.5
    assert plot["geometry"] == {"type": "Point", "coordinates": [-76.45, -7.55]}
    big = {**point, "name": "Parcela 2", "area_ha": 6}
    refused = client.post(url, json=big, headers=clerk)
    assert refused.status_code == 422 and "polygon" in refused.get_json()["errors"]["geometry"][0]
    crossing = {
        **big,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-76.45, -7.55],
                    [-76.44, -7.54],
                    [-76.44, -7.55],
                    [-76.45, -7.54],
                    [-76.45, -7.55],
                ]
            ],
        },
    }
    assert (
        "crosses itself"
        in client.post(url, json=crossing, headers=clerk).get_json()["errors"]["geometry"][0]
    )
    malformed = {**big, "geometry": {"type": "Polygon", "coordinates": "nope"}}
    assert client.post(url, json=malformed, headers=clerk).status_code == 422
    polygon = {**big, "geometry": square(-76.4, -7.5, 245)}
    made = client.post(url, json=polygon, headers=clerk).get_json()
    assert 5.8 < made["measured_area_ha"] < 6.2
    listed = client.get(url, headers=clerk)
    assert [p["name"] for p in listed.get_json()] == ["Parcela 1", "Parcela 2"]
    assert "X-Pagination" in listed.headers
    # The manager loads the protected area; a plot inside is flagged, and shows it.
    manager = api_token("manager.a@example.org")
    park = square(-76.45, -7.55, 2_000)
    assert (
        client.put(
            "/api/v1/cooperatives/COOPA/protected-area", json=park, headers=clerk
        ).status_code
        == 403
    )
    loaded = client.put("/api/v1/cooperatives/COOPA/protected-area", json=park, headers=manager)
    assert loaded.status_code == 200 and loaded.get_json() == {
        "plots": 2,
        "flagged": 1,
        "cleared": 0,
    }
    assert client.get(f"/api/v1/plots/{plot['id']}", headers=clerk).get_json()["flags"] == [
        "protected_area"
    ]
    assert (
        client.get("/api/v1/cooperatives/COOPA/protected-area", headers=clerk).get_json()["type"]
        == "Polygon"
    )
    bad = client.put(
        "/api/v1/cooperatives/COOPA/protected-area",
        data="{nope",
        headers={**manager, "Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    # Moving the point (a clerk) keeps the flag; the manager resolves it with a reason.
    moved = client.patch(
        f"/api/v1/plots/{plot['id']}",
        json={"geometry": {"type": "Point", "coordinates": [-76.3, -7.4]}},
        headers=clerk,
    )
    assert moved.status_code == 200 and moved.get_json()["flags"] == ["protected_area"]
    resolve = f"/api/v1/plots/{plot['id']}/resolve"
    assert (
        client.post(
            resolve, json={"kind": "protected_area", "reason": "x"}, headers=clerk
        ).status_code
        == 403
    )
    assert client.post(resolve, json={"kind": "protected_area"}, headers=manager).status_code == 422
    done = client.post(
        resolve,
        json={"kind": "protected_area", "reason": "GPS tomado en la carretera"},
        headers=manager,
    )
    assert done.status_code == 200 and done.get_json()["flags"] == []


def _delivery_body(family, plot, **kw):
    return {
        "family_id": str(family.id),
        "plot_id": str(plot.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": "2026-06-02",
        "gross_kg": 41.3,
        "tare_kg": 0.2,
        "moisture_pct": 11.5,
        "grade": "A",
        "price_per_kg": "8.72",
        "premium_per_kg": "0.40",
        **kw,
    }


def test_record_a_delivery_with_its_claims(client, world, db, clerk):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    cert = make_certificate(db, world.a)
    cover(db, cert, family)
    db.commit()
    response = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json=_delivery_body(family, plot), headers=clerk
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["net_kg"] == 41.1 and body["gross_kg"] == 41.3 and body["moisture_pct"] == 11.5
    assert (
        body["price_per_kg"] == "8.72"
        and body["amount"] == "358.39"
        and body["premium_amount"] == "16.44"
    )
    assert body["receipt_number"] == "C01-000001" and body["voided"] is False
    assert body["claims"] == [
        {"type": "organic", "basis": "segregated", "certificate_ids": [str(cert.id)]}
    ]
    fetched = client.get(f"/api/v1/deliveries/{body['id']}", headers=clerk).get_json()
    assert fetched == body


def test_a_member_code_may_stand_for_the_family(client, world, db, clerk):
    family = make_family(db, world.a, member_code="CAZ-1042")
    make_plot(db, family)
    db.commit()
    body = {
        "member_code": "caz-1042",
        "crop": "café",
        "form": "pergamino seco",
        "gross_kg": "41,3",
        "price_per_kg": "9,10",
    }
    response = client.post("/api/v1/cooperatives/COOPA/deliveries", json=body, headers=clerk)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["family_id"] == str(family.id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"gross_kg": -5}, "gross_kg"),
        ({"gross_kg": 999_999}, "gross_kg"),
        ({"gross_kg": "mucho"}, "gross_kg"),
        ({"tare_kg": 42}, "tare_kg"),
        ({"delivered_on": "2999-01-01"}, "delivered_on"),
        ({"delivered_on": "31/02/2026"}, "delivered_on"),
        ({"family_id": "00000000-0000-0000-0000-000000000000"}, "family_id"),
        ({"family_id": "not-an-id"}, "family_id"),
        ({"crop": "cacao"}, "form"),
        ({"moisture_pct": 101}, "moisture_pct"),
        ({"price_per_kg": "-1"}, "price_per_kg"),
        ({"centre": "C99"}, "centre"),
    ],
)
def test_bad_deliveries_are_422_with_the_field_and_store_nothing(
    client, world, db, clerk, changes, field
):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    db.commit()
    response = client.post(
        "/api/v1/cooperatives/COOPA/deliveries",
        json=_delivery_body(family, plot, **changes),
        headers=clerk,
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert _deliveries(db) == 0


def test_another_cooperatives_family_is_unknown(client, world, db, clerk):
    theirs = make_family(db, world.b)
    their_plot = make_plot(db, theirs)
    db.commit()
    response = client.post(
        "/api/v1/cooperatives/COOPA/deliveries",
        json=_delivery_body(theirs, their_plot),
        headers=clerk,
    )
    assert response.status_code == 422 and "family_id" in response.get_json()["errors"]
    # And B's cooperative is not there at all for A's clerk.
    assert (
        client.post(
            "/api/v1/cooperatives/COOPB/deliveries",
            json=_delivery_body(theirs, their_plot),
            headers=clerk,
        ).status_code
        == 404
    )


def test_the_same_idempotency_key_records_one_delivery(client, world, db, clerk):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    db.commit()
    headers = {**clerk, "Idempotency-Key": "scale-7-0001"}
    first = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json=_delivery_body(family, plot), headers=headers
    )
    second = client.post(
        "/api/v1/cooperatives/COOPA/deliveries", json=_delivery_body(family, plot), headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert _deliveries(db) == 1
    other = client.post(
        "/api/v1/cooperatives/COOPA/deliveries",
        json=_delivery_body(family, plot, gross_kg=50),
        headers=headers,
    )
    assert other.status_code == 422


def test_void_and_correct(client, world, db, clerk, api_token):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    delivery = make_delivery(db, world.a, family, plot, kg=50)
    db.commit()
    url = f"/api/v1/deliveries/{delivery.id}/void"
    assert client.post(url, json={}, headers=clerk).status_code == 422
    auditor = api_token("auditor.a@example.org")
    assert client.post(url, json={"reason": "x"}, headers=auditor).status_code == 403
    corrected = _delivery_body(family, plot, gross_kg=50.5, tare_kg=1.5)
    del corrected["family_id"]
    bad = client.post(
        url, json={"reason": "tara", "corrected": {**corrected, "tare_kg": 60}}, headers=clerk
    )
    assert bad.status_code == 422
    assert (
        client.get(f"/api/v1/deliveries/{delivery.id}", headers=clerk).get_json()["voided"] is False
    )
    done = client.post(
        url,
        json={
            "reason": "Tara no descontada",
            "corrected": {**corrected, "member_code": family.member_code},
        },
        headers=clerk,
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (
        body["voided"]["voided"] is True and body["voided"]["void_reason"] == "Tara no descontada"
    )
    assert body["corrected"]["net_kg"] == 49.0 and body["corrected"]["replaces_id"] == str(
        delivery.id
    )
    assert client.post(url, json={"reason": "again"}, headers=clerk).status_code == 409
    listed = client.get(
        f"/api/v1/cooperatives/COOPA/deliveries?family_id={family.id}", headers=clerk
    ).get_json()
    assert len(listed) == 2  # both stay in the history


def test_csv_import_answers_imported_or_every_error(client, world, db, clerk):
    make_sample_members(db, world.a)
    db.commit()
    url = "/api/v1/cooperatives/COOPA/deliveries/import"
    bad = intake_sample("deliveries.csv").replace(
        b"CAZ-1005,Parcela 2,coffee,dry_parchment,2026-06-07,37.1",
        b"CAZ-1005,Parcela 2,coffee,dry_parchment,2026-06-07,-37.1",
    )
    refused = client.post(url, data=bad, headers={**clerk, "Content-Type": "text/csv"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {"line": 7, "field": "gross_kg", "message": "Must be between 0 and 5000 kg."}
    ]
    assert _deliveries(db) == 0
    done = client.post(
        url,
        data=intake_sample("entregas-excel-es.csv"),
        headers={**clerk, "Content-Type": "text/csv"},
    )
    assert done.status_code == 201 and done.get_json() == {"imported": 40}
    again = client.post(
        url,
        data={"file": (__import__("io").BytesIO(intake_sample("deliveries.csv")), "d.csv")},
        headers=clerk,
    )
    assert again.status_code == 422 and len(again.get_json()["errors"]) == 40
    skipped = client.post(
        f"{url}?skip_duplicates=true",
        data=intake_sample("deliveries.csv"),
        headers={**clerk, "Content-Type": "text/csv"},
    )
    assert skipped.status_code == 201 and skipped.get_json()["imported"] == 0
    assert len(skipped.get_json()["skipped_duplicates"]) == 40
    empty = client.post(url, data=b"", headers={**clerk, "Content-Type": "text/csv"})
    assert empty.status_code == 422 and "file" in empty.get_json()["errors"]


def test_families_and_plots_import_endpoints(client, world, clerk):
    families = client.post(
        "/api/v1/cooperatives/COOPA/families/import",
        data=intake_sample("socios-excel-es.csv"),
        headers={**clerk, "Content-Type": "text/csv"},
    )
    assert families.status_code == 201 and families.get_json()["imported"] == 12
    assert families.get_json()["created_communities"] == [
        "Pólvora",
        "Campanilla",
        "Nuevo Progreso",
        "Tocache",
    ]
    plots = "codigo_socio;parcela;cultivo;area_ha;latitud;longitud\nCAZ-1000;Parcela 1;café;1,5;-7,55;-76,45\nCAZ-1000;Parcela 1;café;1,5;-7,55;-76,45\n"
    refused = client.post(
        "/api/v1/cooperatives/COOPA/plots/import",
        data=plots.encode(),
        headers={**clerk, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["line"] == 3


def test_the_openapi_document_lists_the_intake_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/cooperatives/{code}/families",
        "/api/v1/families/{family_id}",
        "/api/v1/families/{family_id}/plots",
        "/api/v1/plots/{plot_id}",
        "/api/v1/cooperatives/{code}/protected-area",
        "/api/v1/cooperatives/{code}/deliveries",
        "/api/v1/deliveries/{delivery_id}",
        "/api/v1/deliveries/{delivery_id}/void",
        "/api/v1/cooperatives/{code}/deliveries/import",
    ):
        assert path in paths


WEIRD = [
    None,
    "",
    " ",
    0,
    -1,
    1e308,
    "1e400",
    "NaN",
    "inf",
    True,
    [],
    {},
    [1, 2],
    {"a": 1},
    "x" * 5000,
    "٣",
    "\x00",
    "1,2,3",
    "2026-13-45",
]


def test_no_body_makes_a_server_error(client, world, db, clerk):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    db.commit()
    base = _delivery_body(family, plot)
    for name in [*base, "price_per_quintal", "member_code", "centre", "paper_receipt"]:
        for value in WEIRD:
            response = client.post(
                "/api/v1/cooperatives/COOPA/deliveries", json={**base, name: value}, headers=clerk
            )
            assert response.status_code < 500, (name, value, response.get_data(as_text=True)[:300])
    for body in [*WEIRD, "[]", "null"]:
        response = client.post("/api/v1/cooperatives/COOPA/deliveries", json=body, headers=clerk)
        assert response.status_code in (400, 422), body
    for value in WEIRD:
        geometry = {"type": "Polygon", "coordinates": value}
        response = client.post(
            f"/api/v1/families/{family.id}/plots",
            json={"name": "P", "crop": "coffee", "area_ha": 1, "geometry": geometry},
            headers=clerk,
        )
        assert response.status_code < 500, (value, response.get_data(as_text=True)[:300])
        response = client.post(
            f"/api/v1/families/{family.id}/plots",
            json={"name": "P", "crop": "coffee", "area_ha": value},
            headers=clerk,
        )
        assert response.status_code < 500, value
