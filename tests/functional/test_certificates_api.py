"""The certificates endpoints of API.md: create and edit, status from a date, the PDF
document, coverage (by hand, by community, by CSV), kosher sites, the ledger."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlmodel import select

from tests import factories as f
from tracker.models import CertificateStatusChange, CoverageEntry, FileContent, StoredFile
from tracker.services import claims

PDF = f.pdf_document()  # a real one-page PDF: uploads are opened by pikepdf


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def manager(api_token, world):
    return api_token("manager.a@example.org")


NEW = {
    "type": "organic",
    "standard": "EU organic (Reg. 2018/848)",
    "body": "Control Union Peru",
    "body_code": "PE-BIO-149",
    "number": "CU-PE-2026-0871",
    "crops": ["coffee"],
    "valid_from": "2026-01-15",
    "valid_until": "2027-01-14",
}


def create(client, headers, **changes):
    response = client.post(
        "/api/v1/cooperatives/COOPA/certificates", json=NEW | changes, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_manager_creates_lists_and_reads_a_certificate(client, manager, api_token):
    body = create(client, manager)
    assert body["crops"] == ["coffee"] and body["forms"] == []
    assert body["status"] == "active" and body["status_since"] == "2026-01-15"
    assert "state" not in body  # one status: the pages show the same value (CHANGELOG)
    assert body["basis"] == "segregated" and body["covers"] == "families"
    assert body["public_url"] == f"https://trace.example.org/cert/{body['id']}"
    assert body["document"] is None
    clerk = api_token("clerk.a@example.org")
    listed = client.get("/api/v1/cooperatives/COOPA/certificates", headers=clerk).get_json()
    assert [c["number"] for c in listed] == ["CU-PE-2026-0871"]
    assert client.get(f"/api/v1/certificates/{body['id']}", headers=clerk).status_code == 200
    for role in ("clerk.a", "auditor.a"):
        token = api_token(f"{role}@example.org")
        refused = client.post(
            "/api/v1/cooperatives/COOPA/certificates", json=NEW | {"number": "X"}, headers=token
        )
        assert refused.status_code == 403


def test_bad_certificates_are_refused_naming_the_field(client, manager):
    create(client, manager)
    cases = [
        ({"crops": ["tea"]}, "crops"),
        ({"valid_until": "2025-01-01"}, "valid_until"),
        ({"type": "halal"}, "type"),
        ({"number": "CU-PE-2026-0871"}, "number"),
        ({"forms": ["wet_beans"]}, "forms"),
        ({"type": "kosher", "basis": "mass_balance", "number": "K1"}, "basis"),
        ({"valid_from": "15/01/2026"}, "valid_from"),
        ({"surprise": 1}, "surprise"),
    ]
    for changes, field in cases:
        response = client.post(
            "/api/v1/cooperatives/COOPA/certificates", json=NEW | changes, headers=manager
        )
        assert response.status_code == 422, (changes, response.get_json())
        assert field in response.get_json()["errors"], (changes, response.get_json())


def test_added_types_can_be_used(client, manager):
    response = client.post(
        "/api/v1/cooperatives/COOPA/certificate-types",
        json={
            "code": "rainforest",
            "name_es": "Rainforest Alliance",
            "name_en": "Rainforest Alliance",
        },
        headers=manager,
    )
    assert response.status_code == 201
    kinds = client.get("/api/v1/cooperatives/COOPA/certificate-types", headers=manager).get_json()
    assert [k["code"] for k in kinds] == ["organic", "fairtrade", "kosher", "rainforest"]
    body = create(client, manager, type="rainforest", number="RA-1")
    assert body["covers"] == "families"
    again = client.post(
        "/api/v1/cooperatives/COOPA/certificate-types",
        json={"code": "organic", "name_es": "x", "name_en": "x"},
        headers=manager,
    )
    assert again.status_code == 422 and "code" in again.get_json()["errors"]


def test_patch_changes_given_fields_and_claims_follow(client, manager, db, world):
    body = create(client, manager, valid_until="2026-06-30")
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    db.commit()
    added = client.post(
        f"/api/v1/certificates/{body['id']}/coverage",
        json={"family_id": str(family.id), "status": "certified", "since": "2026-01-15"},
        headers=manager,
    )
    assert added.status_code == 201 and added.get_json() == {"added": 1}
    delivery = f.make_delivery(db, world.a, family, plot, on=date(2026, 7, 10))
    db.commit()
    assert claims.delivery_claims(db, [delivery.id])[delivery.id] == []
    db.commit()  # end the read: the db fixture's transactions write (SQLite would wait)
    patched = client.patch(
        f"/api/v1/certificates/{body['id']}", json={"valid_until": "2027-01-14"}, headers=manager
    )
    assert patched.status_code == 200 and patched.get_json()["valid_until"] == "2027-01-14"
    db.expire_all()
    assert [c.type for c in claims.delivery_claims(db, [delivery.id])[delivery.id]] == ["organic"]
    db.commit()
    report = client.get(f"/api/v1/deliveries/{delivery.id}/claims", headers=manager).get_json()
    assert report["claims"][0]["certificate_ids"] == [body["id"]]
    refused = client.patch(
        f"/api/v1/certificates/{body['id']}", json={"type": "fairtrade"}, headers=manager
    )
    assert refused.status_code == 422 and "type" in refused.get_json()["errors"]


def test_status_from_a_date_with_a_reason_and_on_any_date(client, manager, db):
    body = create(client, manager)
    url = f"/api/v1/certificates/{body['id']}/status"
    suspend = {"status": "suspended", "from": "2026-07-15", "reason": "Acción correctiva pendiente"}
    key = {"Idempotency-Key": "suspend-nop-1"}
    first = client.post(url, json=suspend, headers=manager | key)
    again = client.post(url, json=suspend, headers=manager | key)
    assert first.status_code == 201 and again.status_code == 201
    assert first.get_json() == again.get_json()
    assert first.get_json()["from"] == "2026-07-15"
    assert len(db.exec(select(CertificateStatusChange)).all()) == 1
    db.commit()
    on_eve = client.get(f"{url}?on=2026-07-14", headers=manager).get_json()
    on_day = client.get(f"{url}?on=2026-07-15", headers=manager).get_json()
    assert on_eve["status"] == "active" and on_day["status"] == "suspended"
    assert on_day["since"] == "2026-07-15" and on_day["reason"].startswith("Acción")
    assert (
        client.get(f"/api/v1/certificates/{body['id']}", headers=manager).get_json()["status"]
        == "suspended"
    )
    for bad, field in (
        ({"reason": ""}, "reason"),
        ({"from": "2030-01-01"}, "from"),
        ({"status": "paused"}, "status"),
    ):
        response = client.post(url, json=suspend | bad, headers=manager)
        assert response.status_code == 422 and field in response.get_json()["errors"], bad
    same = client.post(url, json=suspend | {"from": "2026-08-01"}, headers=manager)
    assert same.status_code == 409
    reinstated = client.post(
        url, json={"status": "active", "from": "2026-09-01", "reason": "Cerrada"}, headers=manager
    )
    assert reinstated.status_code == 201
    assert client.get(f"{url}?on=2026-09-01", headers=manager).get_json()["status"] == "active"
    assert len(client.get(url, headers=manager).get_json()["history"]) == 2


def test_the_document_is_a_pdf_by_content_stored_once_by_its_hash(client, manager, app, db):
    body = create(client, manager)
    other = create(client, manager, number="NOP-8821-2026", standard="USDA NOP")
    url = f"/api/v1/certificates/{body['id']}/document"
    assert client.get(url, headers=manager).status_code == 404
    put = client.put(url, data=PDF, headers=manager | {"Content-Type": "application/pdf"})
    assert put.status_code == 200, put.get_json()
    document = put.get_json()["document"]
    digest = hashlib.sha256(PDF).hexdigest()
    assert document["sha256"] == digest and document["size_bytes"] == len(PDF)
    got = client.get(url, headers=manager)
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    from io import BytesIO

    same = client.put(
        f"/api/v1/certificates/{other['id']}/document",
        data={"document": (BytesIO(PDF), "certificado.pdf")},
        headers=manager,
        content_type="multipart/form-data",
    )
    assert same.status_code == 200
    # The bytes are kept once, in the database (content-addressed), and nothing on disk.
    assert db.exec(select(FileContent.sha256)).all() == [digest]
    assert not list(Path(app.config["DATA_DIR"]).rglob("*.bin"))


def test_documents_that_are_not_pdfs_or_too_big_are_refused(client, manager, app, db):
    from io import BytesIO

    body = create(client, manager)
    url = f"/api/v1/certificates/{body['id']}/document"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    cases = [
        (png, "certificado.pdf"),
        (b"", "vacio.pdf"),
        (PDF[: len(PDF) // 2], "cortado.pdf"),
        (b"<html><script>alert(1)</script></html>%PDF-1.4 %%EOF", "x.pdf"),
    ]
    for data, name in cases:
        response = client.put(
            url,
            data={"document": (BytesIO(data), name)},
            headers=manager,
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, name
        assert "document" in response.get_json()["errors"], name
    app.config["MAX_UPLOAD_BYTES"] = 100
    big = client.put(url, data=PDF, headers=manager | {"Content-Type": "application/pdf"})
    assert big.status_code == 422
    assert "MB" in big.get_json()["errors"]["document"][0]
    assert db.exec(select(StoredFile)).all() == []
    assert db.exec(select(FileContent)).all() == []
    assert not list(Path(app.config["DATA_DIR"]).rglob("*.bin"))


def test_coverage_by_hand_by_community_and_by_csv(client, manager, db, world):
    body = create(client, manager)
    url = f"/api/v1/certificates/{body['id']}/coverage"
    village = f.make_community(db, world.a, "Alto Sisa")
    members = [f.make_family(db, world.a, community=village) for _ in range(3)]
    loner = f.make_family(db, world.a, member_code="COOPA-7001")
    db.commit()
    by_code = client.post(
        url,
        json={"member_code": "coopa-7001", "status": "in_conversion", "since": "2026-01-15"},
        headers=manager,
    )
    assert by_code.get_json() == {"added": 1}
    village_added = client.post(
        url,
        json={"community_id": str(village.id), "status": "certified", "since": "2026-01-15"},
        headers=manager,
    )
    assert village_added.status_code == 201 and village_added.get_json() == {"added": 3}
    twice = client.post(
        url,
        json={"community_id": str(village.id), "status": "certified", "since": "2026-01-15"},
        headers=manager,
    )
    assert twice.get_json() == {"added": 0}
    csv_text = (
        "Código socio;Estado;Desde\r\n"
        f"{members[0].member_code};excluido;01/08/2026\r\n"
        f"{loner.member_code};Certificado;2026-03-01\r\n"
    )
    imported = client.post(
        url,
        data=csv_text.encode("cp1252"),
        headers=manager | {"Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.get_json()
    assert imported.get_json() == {"added": 2}
    history = client.get(url, headers=manager)
    assert history.status_code == 200 and len(history.get_json()) == 6
    assert "X-Pagination" in history.headers
    today = client.get(f"{url}?on=2026-09-01", headers=manager).get_json()
    assert {e["member_code"]: e["status"] for e in today} == {
        members[0].member_code: "excluded",
        members[1].member_code: "certified",
        members[2].member_code: "certified",
        loner.member_code: "certified",
    }
    spring = client.get(f"{url}?on=2026-02-01", headers=manager).get_json()
    assert {e["member_code"]: e["status"] for e in spring}[loner.member_code] == "in_conversion"


def test_a_bad_coverage_csv_names_every_bad_row_and_stores_nothing(client, manager, db, world):
    body = create(client, manager)
    url = f"/api/v1/certificates/{body['id']}/coverage"
    family = f.make_family(db, world.a)
    db.commit()
    csv_text = (
        "member_code,status,since\n"
        f"{family.member_code},certified,2026-02-01\n"
        "NOPE-1,certified,2026-02-01\n"
        f"{family.member_code},maybe,2026-31-31\n"
        f"{family.member_code},certified,2027-06-01\n"
    )
    response = client.post(url, data=csv_text, headers=manager | {"Content-Type": "text/csv"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {(e["line"], e["field"]) for e in errors} == {
        (3, "member_code"),
        (4, "status"),
        (4, "since"),
        (5, "since"),
    }
    assert db.exec(select(CoverageEntry)).all() == []
    db.commit()
    header = client.post(
        url, data="who,what\nx,y\n", headers=manager | {"Content-Type": "text/csv"}
    )
    assert header.status_code == 422
    empty = client.post(url, data=b"", headers=manager | {"Content-Type": "text/csv"})
    assert empty.status_code == 422
    junk = client.post(url, json={"status": "certified", "since": "2026-02-01"}, headers=manager)
    assert junk.status_code == 422 and "family_id" in junk.get_json()["errors"]


def test_kosher_covers_processing_sites_not_families(client, manager, db, world):
    body = create(client, manager, type="kosher", number="OU-K-55120", forms=["green", "roasted"])
    organic = create(client, manager)
    mill = f.make_site(db, world.a)
    family = f.make_family(db, world.a)
    db.commit()
    url = f"/api/v1/certificates/{body['id']}/sites"
    added = client.post(url, json={"site_id": str(mill.id), "since": "2026-01-01"}, headers=manager)
    assert added.status_code == 201 and added.get_json()["site_code"] == mill.code
    ended = client.post(
        url,
        json={"site_id": str(mill.id), "since": "2026-01-01", "until": "2026-12-31"},
        headers=manager,
    )
    assert ended.get_json()["until"] == "2026-12-31"
    assert len(client.get(url, headers=manager).get_json()) == 1
    wrong = client.post(
        f"/api/v1/certificates/{organic['id']}/sites",
        json={"site_id": str(mill.id), "since": "2026-01-01"},
        headers=manager,
    )
    assert wrong.status_code == 422
    no_families = client.post(
        f"/api/v1/certificates/{body['id']}/coverage",
        json={"family_id": str(family.id), "status": "certified", "since": "2026-01-01"},
        headers=manager,
    )
    assert no_families.status_code == 422


def test_mass_balance_over_the_api(client, manager, db, world, api_token):
    body = create(client, manager, type="fairtrade", basis="mass_balance", number="FLO-3456")
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    db.commit()
    client.post(
        f"/api/v1/certificates/{body['id']}/coverage",
        json={"family_id": str(family.id), "status": "certified", "since": "2026-01-15"},
        headers=manager,
    )
    f.make_delivery(db, world.a, family, plot, kg=100, on=date(2026, 6, 1))
    other = f.make_family(db, world.a)
    lot = f.make_lot(
        db, world.a, [f.make_delivery(db, world.a, other, f.make_plot(db, other), kg=80)]
    )
    big = f.make_lot(db, world.a, kg=300)
    db.commit()
    clerk = api_token("clerk.a@example.org")
    url = f"/api/v1/lots/{lot.id}/mass-balance"
    payload = {"certificate_id": body["id"]}
    assert client.post(url, json=payload, headers=clerk).status_code == 403
    won = client.post(url, json=payload, headers=manager)
    assert won.status_code == 201, won.get_json()
    assert won.get_json()["claims"] == [
        {"type": "fairtrade", "basis": "mass_balance", "certificate_ids": [body["id"]]}
    ]
    short = client.post(f"/api/v1/lots/{big.id}/mass-balance", json=payload, headers=manager)
    assert short.status_code == 409
    ledger = client.get(f"/api/v1/certificates/{body['id']}/ledger", headers=clerk).get_json()
    # Coffee ledgers count green-coffee equivalent: 100 kg of dry parchment in (80 kg of
    # green), the lot's 80 kg out (64 kg of green).
    assert ledger["credit_kg"] == 80 and ledger["balance_kg"] == 16
    assert ledger["allocations"][0]["lot_code"] == lot.code
    assert ledger["reference_form"] == "green"
    assert ledger["unit"] == "kg equivalentes de café verde"
    foreign = f.make_certificate(db, world.b, type="fairtrade", basis="mass_balance", crops="cacao")
    db.commit()
    stranger = client.post(url, json={"certificate_id": str(foreign.id)}, headers=manager)
    assert stranger.status_code == 422 and "certificate_id" in stranger.get_json()["errors"]
    void = client.post(
        f"{url}/void",
        json={"certificate_id": body["id"], "reason": "vendido sin sello"},
        headers=manager,
    )
    assert void.status_code == 200 and void.get_json()["claims"] == []
    assert any(
        "FLO-3456" in m["text"] and "balance de masas" in m["text"]
        for m in void.get_json()["missing"]
    )
    why = client.get(f"/api/v1/lots/{lot.id}/claims", headers=clerk).get_json()
    assert why["claims"] == [] and why["missing"]
